"""Every member page fits a 360 px wide phone in all four languages, and a 1280 px desktop: nothing scrolls
sideways, and the tab bar shows every tab (a Danish "Profil" once slid off the edge, where a member would never
find it)."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from playwright.sync_api import Page, expect

from loyalty.models import Reward
from loyalty.rewards.catalogue import reward_redeem
from members.models import Member
from tests.browser.conftest import screenshot
from tests.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = ["/", "/activity/", "/rewards/", "/vouchers/", "/invite/", "/profile/", "/profile/consents/"]
PAGES += ["/profile/privacy/"]


def test_member_pages_fit_a_phone_in_every_language(page: Page, live_server, shop, tiers, programme):
    make_order(shop, order_id="WEB-1001", amount="1890.00", first_name="Kari", last_name="Nordmann-Haugland")
    kari = Member.objects.select_related("user").get()
    kari.user.set_password("karis-passord-12")
    kari.user.save()
    EmailAddress.objects.filter(user=kari.user).update(verified=True)
    reward = Reward.objects.create(name="100 kr gift card", points_cost=1000, how_to_use="Type the code at checkout.")
    voucher = reward_redeem(member=kari, reward=reward)

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("kari@example.com")
    page.get_by_label("Password").fill("karis-passord-12")
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_test_id("balance")).to_be_visible()

    for language in ["en", "nb", "da", "sv"]:
        page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
        for path in [*PAGES, f"/vouchers/{voucher.code}/", f"/rewards/{reward.pk}/"]:
            page.goto(path)
            expect(page.locator("html")).to_have_attribute("lang", language)
            widths = page.evaluate(
                """() => {
                    const tabs = document.querySelector("nav.tabs");
                    return {page: document.documentElement.scrollWidth, tabs: tabs.scrollWidth, room: tabs.clientWidth};
                }"""
            )
            assert widths["page"] <= 360, (language, path, widths)
            assert widths["tabs"] <= widths["room"], (language, path, widths)
            if language in ("en", "nb"):
                screenshot(page, f"30-portal-{language}-360{path.rstrip('/').replace('/', '-') or '-home'}")
        screenshot(page, f"30-reward-{language}")

    # The same pages on a desktop: the layout keeps its reading width and nothing spills past the window.
    page.set_viewport_size({"width": 1280, "height": 900})
    for path in [*PAGES, f"/vouchers/{voucher.code}/", f"/rewards/{reward.pk}/"]:
        page.goto(path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1280, path
        screenshot(page, f"30-portal-sv-1280{path.rstrip('/').replace('/', '-') or '-home'}")
