from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from loyalty.ledger import points_redeem
from loyalty.models import AmountBasis, EntryKind, LedgerEntry, Order, PointsAccount
from loyalty.orders import OrderInput, order_record
from loyalty.selectors import member_standing
from loyalty.shops import MemberRef
from members.models import Member
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


def test_fresh_install_earns_one_point_per_currency_unit_rounded_down(shop, tiers, programme):
    result = make_order(shop, amount="999.99")
    assert result.outcome.points_awarded == 999
    assert programme.points_per_unit == Decimal("1")


def test_shop_rate_overrides_programme_rate(shop, tiers, programme):
    shop.points_per_unit = Decimal("0.1")
    shop.save()
    assert make_order(shop, amount="1234.00").outcome.points_awarded == 123


def test_excl_vat_basis_removes_vat_before_earning(shop, tiers, programme):
    programme.amount_basis = AmountBasis.EXCL_VAT
    programme.save()

    result = order_record(
        shop=shop,
        order=OrderInput(
            order_id="vat-1",
            member=MemberRef(email="kari@example.com"),
            amount=Decimal("1250.00"),
            tax=Decimal("250.00"),
            currency="NOK",
            occurred_at=timezone.now(),
        ),
    )
    assert result.outcome.points_awarded == 1000


def test_unknown_email_is_enrolled_at_entry_tier(shop, tiers, programme):
    make_order(shop, email="New.Person@Example.com", amount="10.00")
    member = Member.objects.get(user__email="new.person@example.com")
    assert member.points.tier.name == "Bronze"
    assert member.points.balance == 10


def test_member_is_upgraded_by_the_order_that_crosses_the_threshold(shop, tiers, programme):
    first = make_order(shop, order_id="1", amount="900.00")
    assert first.outcome.tier == "Bronze"
    second = make_order(shop, order_id="2", amount="100.00")
    assert second.outcome.tier == "Silver"
    # The multiplier of the tier held when the order arrived applies; the next order gets Silver's.
    assert second.outcome.points_awarded == 100
    third = make_order(shop, order_id="3", amount="100.00")
    assert third.outcome.points_awarded == 125
    # Each order keeps the tier it earned at (revenue per tier counts it there), whatever the member's is now.
    tiers_kept = Order.objects.order_by("external_id").values_list("external_id", "tier__name")
    assert list(tiers_kept) == [("1", "Bronze"), ("2", "Bronze"), ("3", "Silver")]


def test_tier_counts_base_points_not_multiplier_bonus(shop, tiers, programme):
    make_order(shop, order_id="1", amount="1000.00")  # Silver now
    make_order(shop, order_id="2", amount="1000.00")  # 1250 points, 1000 tier points
    standing = member_standing(member=Member.objects.get())
    assert standing.balance == 2250
    assert standing.tier_points == 2000


def test_spending_points_never_lowers_a_tier(shop, tiers, programme):
    make_order(shop, amount="1500.00")
    member = Member.objects.get()
    points_redeem(member=member, points=1500)
    standing = member_standing(member=member)
    assert standing.balance == 0
    assert standing.tier.name == "Silver"
    assert standing.tier_points == 1500


def test_points_outside_the_rolling_window_do_not_count_towards_tiers(shop, tiers, programme):
    make_order(shop, order_id="old", amount="900.00", occurred_at=timezone.now() - dt.timedelta(days=400))
    result = make_order(shop, order_id="new", amount="200.00")
    assert result.outcome.tier == "Bronze"
    assert member_standing(member=Member.objects.get()).tier_points == 200


def test_lifetime_window_counts_every_point(shop, tiers, programme):
    programme.tier_window_months = None
    programme.save()
    make_order(shop, order_id="old", amount="900.00", occurred_at=timezone.now() - dt.timedelta(days=1400))
    assert make_order(shop, order_id="new", amount="200.00").outcome.tier == "Silver"


def test_rolling_window_moves_with_time(shop, tiers, programme):
    with time_machine.travel(dt.datetime(2026, 1, 10, 12, tzinfo=dt.UTC)):
        make_order(shop, order_id="a", amount="600.00")
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)):
        assert member_standing(member=Member.objects.get()).tier_points == 600
    with time_machine.travel(dt.datetime(2027, 2, 1, 12, tzinfo=dt.UTC)):
        assert member_standing(member=Member.objects.get()).tier_points == 0


def test_standing_reports_next_tier_points_needed_and_percent(shop, tiers, programme):
    make_order(shop, amount="3750.00")  # Silver (1000), next Gold (5000)
    standing = member_standing(member=Member.objects.get())
    assert standing.tier.name == "Silver"
    assert standing.next_tier.name == "Gold"
    assert standing.points_to_next_tier == 1250
    assert standing.progress_percent == (3750 - 1000) * 100 // (5000 - 1000)


def test_standing_at_the_top_tier_has_no_next_tier(shop, tiers, programme):
    make_order(shop, amount="6000.00")
    standing = member_standing(member=Member.objects.get())
    assert standing.tier.name == "Gold"
    assert standing.next_tier is None
    assert standing.points_to_next_tier == 0
    assert standing.progress_percent == 100


def test_standing_of_member_without_account(member, tiers, programme):
    standing = member_standing(member=member)
    assert standing.balance == 0
    assert standing.tier.name == "Bronze"
    assert standing.points_to_next_tier == 1000
    assert standing.progress_percent == 0


def test_standing_takes_a_fixed_number_of_queries(shop, tiers, programme, django_assert_num_queries):
    for n in range(15):
        make_order(shop, order_id=str(n), amount="100.00")
    member = Member.objects.get()
    with django_assert_num_queries(5):  # programme, tiers, account, tier points, points reserved at checkouts
        member_standing(member=member)


def test_earn_entry_records_how_points_were_computed(shop, tiers, programme):
    make_order(shop, order_id="1", amount="1000.00")
    make_order(shop, order_id="2", amount="400.00")
    entry = LedgerEntry.objects.filter(kind=EntryKind.EARN).order_by("-id").first()
    assert entry.points == 500
    assert entry.tier_points == 400
    assert entry.detail["tier"] == "Silver"
    assert entry.detail["multiplier"] == "1.25"
    assert entry.order.external_id == "2"
    assert entry.balance_after == PointsAccount.objects.get().balance
