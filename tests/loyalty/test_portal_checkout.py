"""The portal shows what the checkout and the return window do to a member's points: what is pending and until
when, what is reserved at a checkout, what points pay at each shop, and the history of both."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from loyalty.ledger import points_adjust
from loyalty.orders import refund_record
from loyalty.rewards import redemption_release, redemption_reserve
from loyalty.templatetags.klubb_format import money
from members.models import Member
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari(shop, tiers, programme):
    """Kari: 1500 points from an order two days ago, pending for 14 days; 600 spendable from a goodwill bonus."""
    programme.pending_days = 14
    programme.point_value = Decimal("0.10")
    programme.save()
    make_order(shop, order_id="1001", amount="1500.00", occurred_at=timezone.now() - dt.timedelta(days=2))
    member = Member.objects.get(user__email="kari@example.com")
    points_adjust(member=member, points=600, staff=None, reason="Goodwill")
    return member


@pytest.fixture
def logged_in(client, kari):
    client.force_login(kari.user)
    return client


def text(response) -> str:
    """The page with its whitespace folded, a non-breaking space (as in "NOK 10.00") kept as it is."""
    return re.sub(r"[ \t\n\r\f\v]+", " ", response.content.decode())


def test_home_shows_what_can_be_spent_now_and_what_is_pending_until_when(logged_in, kari):
    page = text(logged_in.get(reverse("portal:home")))

    day = date_format(timezone.localtime() + dt.timedelta(days=12), "DATE_FORMAT")
    assert "600 points to spend now." in page
    assert f"1,500 points pending until {day}, when the return period ends" in page


def test_home_shows_points_reserved_at_a_checkout(logged_in, kari, shop):
    redemption_reserve(shop=shop, redemption_id="cart-1", member=kari, points=200)

    page = text(logged_in.get(reverse("portal:home")))

    assert "200 points are reserved at a checkout; they come back if you do not complete the order." in page


def test_activity_names_checkout_spending_its_return_and_pending_orders(logged_in, kari, shop):
    redemption_reserve(shop=shop, redemption_id="cart-1", member=kari, points=200)
    redemption_release(shop=shop, redemption_id="cart-1")
    redemption_reserve(shop=shop, redemption_id="cart-2", member=kari, points=100)

    page = text(logged_in.get(reverse("portal:activity")))

    assert "Spent at checkout at Nordlys Sport" in page
    assert "reserved, not yet used" in page
    assert "Points given back: checkout at Nordlys Sport not completed" in page
    assert page.count("Pending until") == 1  # the order's points
    filtered = text(logged_in.get(reverse("portal:activity"), {"kind": "return"}))
    assert "Points given back" in filtered and "Spent at checkout" not in filtered


def test_rewards_page_says_what_points_are_worth_at_each_shops_checkout(logged_in, kari, shop, other_shop):
    other_shop.point_value = Decimal("0.15")
    other_shop.currency = "SEK"
    other_shop.save()

    page = text(logged_in.get(reverse("portal:rewards")))

    assert "You have 600 points to spend." in page
    nok, sek = money(Decimal("10.00"), "NOK"), money(Decimal("15.00"), "SEK")
    assert f"At Nordlys Sport, 100 points pay {nok}, up to 50 % of an order." in page
    assert f"At Fjord Outdoor, 100 points pay {sek}, up to 50 % of an order." in page
    assert "from 100 points, then in steps of 100 points." in page
    assert f"Your points pay {money(Decimal('60.00'), 'NOK')} there." in page  # 600 points at 0.10
    assert f"Your points pay {money(Decimal('90.00'), 'SEK')} there." in page


def test_an_order_refunded_in_its_window_shows_nothing_pending(logged_in, kari, shop):
    refund_record(shop=shop, order_id="1001", refund_id="R-1", amount=Decimal("1500.00"))

    home = text(logged_in.get(reverse("portal:home")))
    activity = text(logged_in.get(reverse("portal:activity")))

    assert 'data-testid="pending"' not in home and "pending until" not in home
    assert "Pending until" not in activity
