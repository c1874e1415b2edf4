"""The member's page in the admin shows the whole person: points, orders, refunds, spend, vouchers, referrals both
ways, consents with proof, messages and staff adjustments, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from loyalty.ledger import points_adjust
from loyalty.models import Reward
from loyalty.orders import refund_record
from loyalty.rewards.catalogue import reward_redeem
from members.models import ConsentChannel, ConsentSource, Member, Message, MessageChannel, MessageStatus
from members.services import consent_set
from referrals.services import referral_attach
from tests.conftest import make_order
from tests.factories import MemberFactory, ShopFactory

pytestmark = pytest.mark.django_db


def change_url(member: Member) -> str:
    return reverse("admin:members_member_change", args=[member.pk])


def section(html: str, title: str) -> str:
    """The HTML of the fieldset whose heading is ``title``, up to the next fieldset."""
    match = re.search(rf"<h2[^>]*>\s*{re.escape(title)}\s*</h2>(.*?)</fieldset>", html, re.S)
    assert match, f"no fieldset {title!r}"
    return match.group(1)


def message_to(member: Member, subject: str) -> Message:
    return Message.objects.create(
        member=member,
        kind="welcome",
        channel=MessageChannel.EMAIL,
        key=f"test:{subject}",
        to=member.user.email,
        language="nb",
        subject=subject,
        body="Hei",
        status=MessageStatus.SENT,
        sent_at=timezone.now(),
    )


@pytest.fixture
def anna(shop, tiers, programme, admin_user):
    """A member with orders in two shops and currencies, a refund, a voucher, a referral each way, a consent,
    a message and an adjustment."""
    make_order(shop, order_id="K-1", amount="100.00", email="kari@example.com")
    kari = Member.objects.get(user__email="kari@example.com")
    anna = MemberFactory(user__email="anna@example.com")
    referral_attach(friend=anna, code=kari.referral_code.code, source="portal", new_member=True)
    ola = MemberFactory(user__email="ola@example.com")
    anna.refresh_from_db()
    referral_attach(friend=ola, code=anna.referral_code.code, source="portal", new_member=True)
    swedish = ShopFactory(name="Fjällbutiken", slug="fjallbutiken", currency="SEK")
    now = timezone.now()
    make_order(shop, order_id="A-1", amount="1000.00", email="anna@example.com", occurred_at=now - dt.timedelta(days=2))
    make_order(
        swedish, order_id="A-2", amount="400.00", email="anna@example.com", occurred_at=now - dt.timedelta(days=40)
    )
    refund_record(shop=shop, order_id="A-1", refund_id="R-1", amount=Decimal("200.00"))
    points_adjust(member=anna, points=500, staff=admin_user, reason="Goodwill after a late parcel")
    reward_redeem(member=anna, reward=Reward.objects.create(name="Coffee mug", points_cost=100))
    consent_set(
        member=anna,
        channel=ConsentChannel.EMAIL,
        granted=True,
        source=ConsentSource.PORTAL,
        wording="Yes, send me offers by email",
        ip_address="192.0.2.7",
    )
    message_to(anna, "Welcome to the club")
    return Member.objects.select_related("user").get(pk=anna.pk)


def test_each_section_of_the_member_page_shows_the_members_own_data(admin_client, admin_user, anna):
    response = admin_client.get(change_url(anna))
    assert response.status_code == 200
    html = response.content.decode()

    points = section(html, "Points")
    assert re.search(r"<strong>[\d,]+</strong>", points)
    assert 'data-key="spendable"' in points and 'data-key="pending"' in points
    assert "progressbar" in points

    orders = section(html, "Orders and spend")
    assert 'data-currency="NOK"' in orders and 'data-currency="SEK"' in orders
    nok_row = re.search(r'data-currency="NOK">(.*?)</tr>', orders, re.S).group(1)
    assert "1" in nok_row and "800" in nok_row  # one NOK order, 1000 less 200 refunded
    a1 = re.search(r'data-order="A-1">(.*?)</tr>', orders, re.S).group(1)
    assert "Nordlys Sport" in a1 and "+" in a1
    assert "Fjällbutiken" in re.search(r'data-order="A-2">(.*?)</tr>', orders, re.S).group(1)
    assert "K-1" not in orders  # another member's order
    assert 'data-refund="R-1"' in orders
    first, last = re.search(r'data-key="first-order">(.*?)<.*data-key="last-order">(.*?)<', orders, re.S).groups()
    assert first and last and first != last

    vouchers = section(html, "Vouchers")
    assert "Coffee mug" in vouchers and anna.vouchers.get().code in vouchers

    adjustments = section(html, "Adjustments by staff")
    assert "Goodwill after a late parcel" in adjustments and admin_user.email in adjustments

    referrals = section(html, "Referrals")
    assert "kari@example.com" in re.search(r'data-key="referred-by">(.*?)</p>', referrals, re.S).group(1)
    assert "ola@example.com" in referrals

    messages = section(html, "Messages sent")
    assert "Welcome to the club" in messages

    assert "Yes, send me offers by email" in html and "192.0.2.7" in html  # the consent and its proof

    # How and when the member joined are facts, not inputs.
    assert 'name="source"' not in html and 'name="enrolled_at' not in html


def test_a_member_without_history_gets_a_page_that_says_so(admin_client, tiers, programme):
    member = MemberFactory(user__email="new@example.com")
    html = admin_client.get(change_url(member)).content.decode()
    assert "No orders yet." in section(html, "Orders and spend")
    assert "No vouchers." in section(html, "Vouchers")
    assert "No adjustments by staff." in section(html, "Adjustments by staff")
    assert "No messages sent." in section(html, "Messages sent")
    assert "Has not referred anyone yet." in section(html, "Referrals")


def test_the_member_page_makes_the_same_number_of_queries_however_long_the_history(
    admin_client, admin_user, anna, shop
):
    def queries() -> int:
        admin_client.get(change_url(anna))  # warm per-process caches
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(change_url(anna)).status_code == 200
        return len(captured)

    before = queries()
    for n in range(6):
        make_order(shop, order_id=f"more-{n}", amount="300.00", email="anna@example.com")
        refund_record(shop=shop, order_id=f"more-{n}", refund_id=f"R-more-{n}", amount=Decimal("10.00"))
        points_adjust(member=anna, points=10, staff=admin_user, reason=f"r{n}")
        friend = MemberFactory(user__email=f"friend{n}@example.com")
        referral_attach(friend=friend, code=anna.referral_code.code, source="portal", new_member=True)
        message_to(anna, f"News {n}")
    reward_redeem(member=anna, reward=Reward.objects.create(name="Bag", points_cost=50))
    assert queries() == before
