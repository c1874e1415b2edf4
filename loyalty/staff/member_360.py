"""Reads for the member's page in the admin (the "member 360"): orders with shop and points, refunds, spend per
currency, first and last order, vouchers and staff adjustments, each in one query however long the history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Max, Min, Sum

from loyalty.models import EntryKind, LedgerEntry, Order, Refund, Voucher
from loyalty.selectors import member_vouchers
from members.models import Member

RECENT = 10  # rows per table on the member's page; each table links to the full list


@dataclass(frozen=True)
class Spend:
    currency: str
    orders: int
    amount: Decimal
    refunded: Decimal

    @property
    def net(self) -> Decimal:
        return self.amount - self.refunded


@dataclass(frozen=True)
class MemberOverview:
    orders: list[Order]
    order_count: int
    spend: list[Spend]  # per currency, the largest first
    first_order_at: dt.datetime | None
    last_order_at: dt.datetime | None
    refunds: list[Refund]
    vouchers: list[Voucher]
    adjustments: list[LedgerEntry]


def member_overview(*, member: Member, limit: int = RECENT) -> MemberOverview:
    """What the member bought, got back and was given by staff, in five queries."""
    per_currency = list(
        Order.objects.filter(member=member)
        .values("currency")
        .annotate(
            orders=Count("id"),
            amount=Sum("amount"),
            refunded=Sum("refunded_amount"),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
        )
        .order_by("-amount", "currency")
    )
    orders = list(
        Order.objects.filter(member=member).select_related("shop", "tier").order_by("-occurred_at", "-id")[:limit]
    )
    refunds = list(
        Refund.objects.filter(order__member=member)
        .select_related("shop", "order", "reason")
        .order_by("-occurred_at", "-id")[:limit]
    )
    adjustments = list(
        LedgerEntry.objects.filter(member=member, kind=EntryKind.ADJUST).select_related("staff").order_by("-id")[:limit]
    )
    return MemberOverview(
        orders=orders,
        order_count=sum(row["orders"] for row in per_currency),
        spend=[
            Spend(currency=row["currency"], orders=row["orders"], amount=row["amount"], refunded=row["refunded"])
            for row in per_currency
        ],
        first_order_at=min((row["first"] for row in per_currency), default=None),
        last_order_at=max((row["last"] for row in per_currency), default=None),
        refunds=refunds,
        vouchers=list(member_vouchers(member=member)[:limit]),
        adjustments=adjustments,
    )
