"""A superuser signs in with password and authenticator code and walks the admin by task: the index, every group's
page, the member, order and ledger lists and the member 360, at 1280 px and 768 px, with nothing wider than the
window (a wide table scrolls inside its own box). Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone
from playwright.sync_api import Page, expect

from loyalty.ledger import points_adjust
from loyalty.models import Reward
from loyalty.orders import refund_record
from loyalty.rewards.catalogue import reward_redeem
from members.admin_site import ADMIN_GROUPS
from members.models import ConsentChannel, ConsentSource, Member, User
from members.services import consent_set
from referrals.services import referral_attach
from tests.browser.conftest import screenshot
from tests.browser.test_staff_dashboard import current_code
from tests.conftest import give_two_factor, make_order
from tests.factories import MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = (1280, 768, 360)


def fits_the_window(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_staff_walk_the_admin_by_task_at_desktop_and_tablet_widths(page: Page, live_server, shop, tiers, programme):
    now = timezone.now()
    boss = User.objects.create_user(
        email="boss@klubb.test", password="pw-for-tests-123", is_staff=True, is_superuser=True
    )
    EmailAddress.objects.create(user=boss, email=boss.email, verified=True, primary=True)
    secret = give_two_factor(boss)
    make_order(shop, order_id="K-1", amount="100.00", email="kari@example.com", first_name="Kari")
    kari = Member.objects.get(user__email="kari@example.com")
    anna = MemberFactory(user__email="anna.longname-for-layout@example.com", user__first_name="Anna")
    referral_attach(friend=anna, code=kari.referral_code.code, source="portal", new_member=True)
    referral_attach(friend=MemberFactory(user__email="ola@example.com"), code=Member.objects.get(pk=anna.pk)
                    .referral_code.code, source="portal", new_member=True)  # fmt: skip
    swedish = ShopFactory(name="Fjällbutiken", slug="fjallbutiken", currency="SEK")
    for n in range(4):
        make_order(shop, order_id=f"A-{n}", amount="1250.00", email=anna.user.email, occurred_at=now - dt.timedelta(
            days=10 * n + 1))  # fmt: skip
    make_order(swedish, order_id="S-1", amount="499.00", email=anna.user.email, occurred_at=now - dt.timedelta(days=60))
    refund_record(shop=shop, order_id="A-0", refund_id="R-1", amount=Decimal("250.00"))
    points_adjust(member=anna, points=300, staff=boss, reason="Goodwill after a parcel arrived late")
    reward_redeem(member=anna, reward=Reward.objects.create(name="Coffee mug", points_cost=100))
    consent_set(member=anna, channel=ConsentChannel.EMAIL, granted=True, source=ConsentSource.PORTAL,
                wording="Yes, send me offers by email", ip_address="192.0.2.7")  # fmt: skip

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/admin/")
    page.get_by_label("Email").fill(boss.email)
    page.get_by_label("Password").fill("pw-for-tests-123")
    page.get_by_role("button", name="Sign In").click()
    page.get_by_label("Code").fill(current_code(secret))
    page.locator("form button[type=submit]").first.click()
    expect(page.locator("#content-main .module caption").first).to_have_text("Insight")

    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto("/admin/")
        dashboard = page.get_by_role("link", name="Dashboard")
        assert dashboard.bounding_box()["height"] < 30, "the dashboard link wraps"
        assert fits_the_window(page), f"the index is wider than {width} px"
        screenshot(page, f"30-admin-index-{width}")
        for group in ADMIN_GROUPS:
            page.goto(f"/admin/group/{group.slug}/")
            expect(page.locator("h1")).to_have_text(str(group.name))
            screenshot(page, f"31-admin-group-{group.slug}-{width}")
            assert fits_the_window(page), f"{group.slug} is wider than {width} px"
        for name, path in (("members", "members/member"), ("orders", "loyalty/order"),
                           ("ledger", "loyalty/ledgerentry")):  # fmt: skip
            page.goto(f"/admin/{path}/")
            screenshot(page, f"32-admin-{name}-list-{width}", full_page=False)
            assert fits_the_window(page), f"the {name} list is wider than {width} px"
            if width == 1280:  # every column shows without scrolling the table
                assert page.evaluate("(r => r.scrollWidth <= r.clientWidth)(document.querySelector('.results'))"), (
                    f"the {name} list is cut off at 1280 px"
                )
        page.goto(f"/admin/members/member/{anna.pk}/change/")
        expect(page.locator("fieldset h2", has_text="Orders and spend")).to_be_visible()
        screenshot(page, f"33-admin-member-360-{width}")
        assert fits_the_window(page), f"the member 360 is wider than {width} px"
