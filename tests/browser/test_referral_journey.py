"""A referral in Chromium, as people do it: Kari shares her link, Nora opens it and joins, the shop reports
Nora's first order, the return window passes (time travel), the reward job runs, and both see their points."""

from __future__ import annotations

import datetime as dt
import re

import httpx
import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect

from loyalty.shops import api_key_create
from members.models import Member
from referrals.models import ReferralProgramme
from referrals.tasks import reward_due
from tests.browser.conftest import PHONE, screenshot
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db(transaction=True)


def log_in(page: Page, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def test_a_friend_joins_through_a_link_and_both_get_their_points(
    page: Page, browser: Browser, live_server, shop, tiers, programme
):
    settings = ReferralProgramme.load()
    settings.friend_bonus, settings.referrer_reward, settings.confirmation_days = 200, 500, 14
    settings.save()
    kari = MemberFactory(user__email="kari@example.com", user__first_name="Kari", language="en")
    kari.user.set_password("karis-passord-12")
    kari.user.save()
    EmailAddress.objects.create(user=kari.user, email=kari.user.email, verified=True, primary=True)
    _key, raw_key = api_key_create(shop=shop, name="browser test")

    # Kari finds her link on the invite page.
    kari_context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="en-GB")
    kari_page = kari_context.new_page()
    log_in(kari_page, "kari@example.com", "karis-passord-12")
    kari_page.goto("/invite/")
    link = kari_page.get_by_test_id("referral-link").input_value()
    assert re.fullmatch(rf"{live_server.url}/r/[2-9A-HJ-NP-Z]{{8}}/", link)
    expect(kari_page.locator(".qr svg")).to_be_visible()
    screenshot(kari_page, "20-invite")

    # Nora opens it, sees who invited her, and joins.
    page.goto(link.removeprefix(live_server.url))
    expect(page.get_by_role("heading", name="Kari invites you to the club")).to_be_visible()
    screenshot(page, "21-referral-landing")
    page.get_by_role("link", name="Join the club").click()
    expect(page.get_by_test_id("invited-by")).to_contain_text("Kari invited you")
    page.get_by_role("textbox", name="Email").fill("nora@example.com")
    page.get_by_label("Password").fill("gr0nn-eple-tre-17")
    page.get_by_label("First name").fill("Nora")
    screenshot(page, "22-sign-up-invited")
    page.get_by_role("button", name="Sign Up").click()
    confirm = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(re.sub(r"^https?://[^/]+", "", confirm))
    page.get_by_role("button", name="Yes, this is my address").click()
    page.goto("/")
    expect(page.get_by_test_id("balance")).to_have_text("200")  # the welcome bonus

    # The shop reports Nora's first order.
    response = httpx.post(
        f"{live_server.url}/api/v1/orders/",
        headers={"Authorization": f"Bearer {raw_key}"},
        json={
            "order_id": "WEB-9001",
            "member": {"email": "nora@example.com"},
            "amount": "450.00",
            "currency": "NOK",
            "occurred_at": timezone.now().isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    kari_page.reload()
    expect(kari_page.get_by_text("Nora")).to_be_visible()
    expect(kari_page.get_by_test_id("referral-points")).to_have_text("0")

    # Fifteen days later the return window has passed and the scheduled job pays Kari.
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        assert reward_due() == 1
    kari_page.reload()
    expect(kari_page.get_by_test_id("referral-points")).to_have_text("500")
    screenshot(kari_page, "23-invite-rewarded")
    kari_page.goto("/")
    expect(kari_page.get_by_test_id("balance")).to_have_text("500")
    page.reload()
    expect(page.get_by_test_id("balance")).to_have_text("650")  # 200 welcome + 450 for the order
    assert Member.objects.get(user__email="nora@example.com").referred_by.status == "rewarded"
    kari_context.close()
