"""The first-hour pages (issue 16) in a browser, at 360 and 1280 px, in English and Norwegian: sign-up and log-in
tell what the club gives with the opt-in unticked, the vouchers page shows each voucher's facts with a working copy
button, and nothing scrolls sideways. Screenshots for people to look at."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import Page, expect

from loyalty.models import ActionKind, PointsAction, Reward, Voucher
from loyalty.rewards.catalogue import reward_redeem, voucher_use
from members.models import Member
from tests.browser.conftest import screenshot
from tests.conftest import make_order

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = [360, 1280]


def fits(page: Page) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (page.url, width)


@pytest.fixture
def club(shop, tiers, programme):
    tiers[1].free_shipping = True
    tiers[1].save()
    tiers[2].percent_off = Decimal("10")
    tiers[2].save()
    PointsAction.objects.create(name="Welcome", kind=ActionKind.SIGNUP, points=200, is_active=True)
    make_order(shop, order_id="WEB-1001", amount="1890.00", first_name="Kari")
    kari = Member.objects.select_related("user").get()
    kari.user.set_password("karis-passord-12")
    kari.user.save()
    EmailAddress.objects.filter(user=kari.user).update(verified=True)
    mug = Reward.objects.create(name="Coffee mug", points_cost=300, how_to_use="Show the code at the till.")
    used = reward_redeem(member=kari, reward=mug)
    voucher_use(shop=shop, code=used.code, order_id="WEB-1002")
    expired = reward_redeem(member=kari, reward=mug)
    Voucher.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(days=2))
    unused = reward_redeem(member=kari, reward=mug)
    Voucher.objects.filter(pk=unused.pk).update(expires_at=timezone.now() + dt.timedelta(days=60))
    return unused


@pytest.mark.parametrize("language", ["en", "nb"])
def test_sign_up_log_in_vouchers_and_home_at_phone_and_desktop_width(page: Page, live_server, club, language):
    page.context.add_cookies([{"name": "django_language", "value": language, "url": live_server.url}])
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/accounts/signup/")
        expect(page.get_by_test_id("club-pitch")).to_be_visible()
        expect(page.locator("#id_email_marketing")).not_to_be_checked()
        expect(page.get_by_test_id("legal").get_by_role("link")).to_have_count(2)
        fits(page)
        screenshot(page, f"40-sign-up-{language}-{width}")
        page.goto("/accounts/login/")
        expect(page.get_by_test_id("club-pitch")).to_be_visible()
        fits(page)
        screenshot(page, f"41-log-in-{language}-{width}")

    Member.objects.update(language=language)  # her page in her own language after she logs in
    page.set_viewport_size({"width": 360, "height": 900})
    page.goto("/accounts/login/")
    page.get_by_role("textbox", name="Email" if language == "en" else "E-post").fill("kari@example.com")
    page.locator("#id_password").fill("karis-passord-12")
    page.locator("form.form button[type=submit]").click()
    expect(page.get_by_test_id("balance")).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/vouchers/")
        expect(page.get_by_test_id("voucher-row")).to_have_count(3)
        fits(page)
        screenshot(page, f"42-vouchers-{language}-{width}")
        page.goto("/")
        fits(page)
        screenshot(page, f"43-home-{language}-{width}")
    page.goto("/vouchers/")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    copy = page.get_by_test_id("voucher-row").first.get_by_role("button")
    copy.click()
    assert page.evaluate("() => navigator.clipboard.readText()") == club.code
