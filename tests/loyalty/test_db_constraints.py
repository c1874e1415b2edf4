"""Limits where money is at stake hold in the database itself, whatever code (or SQL) writes the rows."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.ledger import points_redeem
from loyalty.models import EntryKind, LedgerEntry, Order, PointsLot, Programme, Refund, Reward, Shop, Tier
from loyalty.orders import refund_record
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def order(shop, tiers, programme, member):
    make_order(shop, order_id="C-1", amount="1000.00")
    return Order.objects.get(external_id="C-1")


def refused(write) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


def test_order_limits_hold_in_the_database(order):
    rows = Order.objects.filter(pk=order.pk)
    refused(lambda: rows.update(tax=Decimal("1000.01")))
    refused(lambda: rows.update(tax=Decimal("-1")))
    refused(lambda: rows.update(refunded_amount=Decimal("-0.01")))
    refused(lambda: rows.update(refunded_amount=Decimal("1000.01")))
    refused(lambda: rows.update(points_clawed_back=order.points_awarded + 1))
    refused(lambda: rows.update(points_awarded=-1, points_clawed_back=-1))
    refused(lambda: rows.update(tier_points_clawed_back=order.tier_points_awarded + 1))
    order.refresh_from_db()
    assert (order.tax, order.refunded_amount, order.points_clawed_back) == (Decimal("0"), Decimal("0"), 0)


def test_refund_and_lot_limits_hold_in_the_database(order, shop):
    refund = refund_record(shop=shop, order_id="C-1", refund_id="R-1", amount=Decimal("100")).refund
    refused(lambda: Refund.objects.filter(pk=refund.pk).update(points_clawed_back=-5))
    refused(lambda: Refund.objects.filter(pk=refund.pk).update(amount=0))
    lot = PointsLot.objects.get(entry__order=order, entry__kind=EntryKind.EARN)
    refused(lambda: PointsLot.objects.filter(pk=lot.pk).update(remaining=lot.points + 1))
    refused(lambda: PointsLot.objects.filter(pk=lot.pk).update(remaining=-1))
    refused(lambda: PointsLot.objects.filter(pk=lot.pk).update(points=0, remaining=0))


def test_stock_and_rates_cannot_go_negative_in_the_database(shop, tiers, programme):
    reward = Reward.objects.create(name="Mug", points_cost=100, stock=1)
    refused(lambda: Reward.objects.filter(pk=reward.pk).update(stock=-1))
    refused(lambda: Reward.objects.filter(pk=reward.pk).update(points_cost=0))
    refused(lambda: Programme.objects.filter(pk=programme.pk).update(points_per_unit=Decimal("-1")))
    refused(lambda: Programme.objects.filter(pk=programme.pk).update(max_order_amount=0))
    refused(lambda: Shop.objects.filter(pk=shop.pk).update(points_per_unit=Decimal("-0.5")))
    refused(lambda: Tier.objects.filter(pk=tiers[0].pk).update(multiplier=Decimal("-1")))


def test_only_a_clawback_entry_may_leave_a_balance_below_zero(order, member, shop):
    def entry(kind: str, points: int, balance_after: int) -> None:
        now = timezone.now()
        LedgerEntry.objects.create(
            member=member, kind=kind, points=points, balance_after=balance_after, effective_at=now, created_at=now
        )

    refused(lambda: entry(EntryKind.REDEEM, -5000, -4000))
    refused(lambda: entry(EntryKind.EXPIRE, -2000, -1000))
    refused(lambda: entry(EntryKind.ADJUST, -1001, -1))
    refused(lambda: entry("gift", 10, 1010))  # an unknown kind
    # Through the services: spend everything, then a refund claws back points already spent.
    points_redeem(member=member, points=1000)
    refund_record(shop=shop, order_id="C-1", refund_id="R-all", amount=Decimal("1000"))
    last = LedgerEntry.objects.filter(member=member).order_by("-id").first()
    assert (last.kind, last.balance_after) == (EntryKind.CLAWBACK, -1000)
