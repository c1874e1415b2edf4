"""A programme manager signs in with password and authenticator code, opens the dashboard from the admin index,
picks a period and sees figures, charts and tables; the screenshot goes to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import Page, expect

from loyalty.models import Reward
from loyalty.rewards.catalogue import reward_redeem
from loyalty.roles import PROGRAMME_MANAGER
from members.models import Member, User
from tests.browser.conftest import screenshot
from tests.conftest import give_two_factor, make_order

pytestmark = pytest.mark.django_db(transaction=True)


def current_code(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_a_programme_manager_opens_the_dashboard(page: Page, live_server, shop, tiers, programme):
    programme.point_value = Decimal("0.05")
    programme.save()
    now = timezone.now()
    for n, (email, amount, days) in enumerate(
        [("kari@example.com", "1200.00", 3), ("kari@example.com", "400.00", 12), ("ola@example.com", "250.00", 20),
         ("per@example.com", "900.00", 45), ("nora@example.com", "80.00", 1)]
    ):  # fmt: skip
        make_order(shop, order_id=f"o{n}", email=email, amount=amount, occurred_at=now - dt.timedelta(days=days))
    reward_redeem(member=Member.objects.get(user__email="kari@example.com"), reward=Reward.objects.create(
        name="Coffee", points_cost=150))  # fmt: skip
    manager = User.objects.create_user(email="manager@klubb.test", password="pw-for-tests-123", is_staff=True)
    EmailAddress.objects.create(user=manager, email=manager.email, verified=True, primary=True)
    manager.groups.add(Group.objects.get(name=PROGRAMME_MANAGER))
    secret = give_two_factor(manager)

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/")
    page.get_by_label("Email").fill("manager@klubb.test")
    page.get_by_label("Password").fill("pw-for-tests-123")
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(current_code(secret))
    page.locator("form button[type=submit]").first.click()

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.get_by_label("From").fill((now - dt.timedelta(days=59)).date().isoformat())
    page.get_by_role("button", name="Show").click()
    expect(page.locator('[data-key="orders"] strong')).to_have_text("5")
    expect(page.locator('[data-key="members_total"] strong')).to_have_text("4")
    expect(page.locator(".kd-charts svg:visible")).to_have_count(3)  # the wide ones
    expect(page.locator("#table-tiers")).to_contain_text("Silver")
    expect(page.locator('a[href*="export="]')).to_have_count(18)  # two in the closed "numbers" boxes
    expect(page.locator("#table-returns_products")).to_contain_text("SKU-1")  # what was ordered, none returned
    expect(page.locator("#table-clv")).to_contain_text("Silver")
    expect(page.locator("#table-rewards")).to_contain_text("Coffee")
    expect(page.locator("#accounting-explained")).to_contain_text("IFRS 15")
    expect(page.locator(".kd-charts svg:visible .kd-tick").first).to_be_visible()
    screenshot(page, "20-staff-dashboard")
    page.set_viewport_size({"width": 360, "height": 780})
    # Nothing wider than the phone's screen but the tables, which scroll in their own box.
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    expect(page.locator(".kd-charts svg.kd-narrow:visible")).to_have_count(3)  # with fewer dates, readable
    screenshot(page, "20-staff-dashboard-phone")
