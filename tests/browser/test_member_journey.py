"""A new member's whole journey in Chromium on a phone-sized screen, as a person would do it:
join, verify the email, earn through the shop API, watch the progress bar, redeem a reward, have the
voucher used at the shop, and switch the portal to Norwegian. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import httpx
import pytest
from django.core import mail
from playwright.sync_api import Page, expect

from loyalty.models import Reward
from loyalty.shops import api_key_create
from members.models import Member
from tests.browser.conftest import screenshot

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def club(shop, tiers, programme):
    """The programme of tests/conftest.py (Bronze 0, Silver 1000, Gold 5000), a reward, and a shop API key."""
    Reward.objects.create(
        name="100 kr gift card",
        points_cost=500,
        stock=10,
        description="100 kr off your next order.",
        how_to_use="Type the code at checkout.",
    )
    _key, raw_key = api_key_create(shop=shop, name="browser test")
    return raw_key


def shop_api(live_server, raw_key: str, method: str, path: str, json: dict) -> httpx.Response:
    return httpx.request(
        method, f"{live_server.url}/api/v1{path}", json=json, headers={"Authorization": f"Bearer {raw_key}"}
    )


def balance(page: Page) -> str:
    return page.get_by_test_id("balance").inner_text()


def test_a_new_member_joins_earns_redeems_and_switches_to_norwegian(page: Page, live_server, club):
    page.goto("/")
    screenshot(page, "01-welcome")
    page.get_by_role("link", name="Join the club").click()

    page.get_by_role("textbox", name="Email").fill("nora@example.com")
    page.get_by_label("Password").fill("gr0nn-eple-tre-17")
    screenshot(page, "02-sign-up")
    page.get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", name="Verify Your Email Address")).to_be_visible()

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", "", link))
    screenshot(page, "03-confirm-email")
    page.get_by_role("button", name="Yes, this is my address").click()

    page.goto("/")
    expect(page.get_by_test_id("balance")).to_have_text("0")
    bar = page.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    expect(page.get_by_text("1,000 points to Silver")).to_be_visible()
    screenshot(page, "04-dashboard-new-member")

    earned = shop_api(
        live_server,
        club,
        "POST",
        "/orders/",
        {
            "order_id": "WEB-1001",
            "member": {"email": "nora@example.com"},
            "amount": "600.00",
            "currency": "NOK",
            "occurred_at": "2026-01-10T12:00:00+01:00",
        },
    )
    assert earned.status_code == 201, earned.text
    page.reload()
    expect(page.get_by_test_id("balance")).to_have_text("600")
    expect(bar).to_have_attribute("aria-valuenow", "60")
    expect(page.get_by_text("400 points to Silver")).to_be_visible()
    screenshot(page, "05-dashboard-after-order")

    page.get_by_role("link", name="Rewards", exact=True).click()
    screenshot(page, "06-rewards")
    page.get_by_role("link", name="Redeem", exact=True).click()
    expect(page.get_by_text("after this you will have 100")).to_be_visible()
    page.get_by_role("button", name="Redeem for 500 points").click()
    code = page.get_by_test_id("voucher-code").inner_text()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{10}", code)
    screenshot(page, "07-voucher")

    used = shop_api(live_server, club, "POST", f"/vouchers/{code}/redeem/", {"order_id": "WEB-1002"})
    assert used.status_code == 200, used.text
    page.reload()
    expect(page.get_by_text("Used on")).to_be_visible()

    page.get_by_role("link", name="Overview", exact=True).click()
    expect(page.get_by_test_id("balance")).to_have_text("100")
    page.get_by_role("link", name="Activity", exact=True).click()
    expect(page.get_by_text("Order WEB-1001 at Nordlys Sport")).to_be_visible()
    expect(page.get_by_text("Reward: 100 kr gift card")).to_be_visible()
    screenshot(page, "08-activity")

    page.get_by_label("Language").select_option("nb")
    page.wait_for_url("**/activity/")
    expect(page.locator("html")).to_have_attribute("lang", "nb")
    page.goto("/")
    expect(page.get_by_role("link", name="Oversikt")).to_be_visible()
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "60")
    screenshot(page, "09-dashboard-norwegian")
    assert Member.objects.get(user__email="nora@example.com").language == "nb"

    page.goto("/profile/")
    screenshot(page, "10-profile-norwegian")
    page.goto("/profile/consents/")
    screenshot(page, "11-consents-norwegian")


def test_the_activity_page_loads_more_with_htmx(page: Page, live_server, club):
    from allauth.account.models import EmailAddress

    from loyalty.ledger import points_adjust
    from tests.factories import MemberFactory

    member = MemberFactory(user__email="ola@example.com", language="en")
    member.user.set_password("ola-sitt-passord-9")
    member.user.save()
    EmailAddress.objects.create(user=member.user, email=member.user.email, verified=True, primary=True)
    for n in range(30):
        points_adjust(member=member, points=10, staff=None, reason=f"Goodwill {n:02d}")

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("ola@example.com")
    page.get_by_label("Password").fill("ola-sitt-passord-9")
    page.get_by_role("button", name="Sign In").click()
    page.goto("/activity/")
    expect(page.locator("#entries > li:not(.more)")).to_have_count(25)
    page.get_by_role("link", name="Load more").click()
    expect(page.locator("#entries > li:not(.more)")).to_have_count(30)
    expect(page.get_by_role("link", name="Load more")).to_have_count(0)
    assert page.url.endswith("/activity/")  # htmx appended in place; no navigation
    screenshot(page, "12-activity-loaded-more")
