"""The period's figures and the two series over time: members, and points issued, redeemed and expired.

Points count when they happened, not when Klubb recorded them: an order's points at the order's date (the entry's
``effective_at``, which an imported or late-reported order sets to when it was placed), a refund's clawback (and the
checkout points it gave back) at the refund's own date (``Refund.occurred_at``), everything else when recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Sum, When
from django.db.models.functions import Coalesce, TruncDay, TruncMonth
from django.utils import timezone

from loyalty.models import EntryKind, LedgerEntry, Order, Programme, Refund, Voucher
from loyalty.staff.dashboard.types import Period, ratio
from members.models import Member

ISSUED_KINDS = [EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST]
DAILY_UP_TO = dt.timedelta(days=92)
# When an entry happened: a refund's on the refund's date, any other at its effective time (an order's date).
HAPPENED = Case(When(refund__isnull=False, then=F("refund__occurred_at")), default=F("effective_at"))
POINTS = {
    "issued": Coalesce(Sum("points", filter=Q(kind__in=ISSUED_KINDS, points__gt=0)), 0),
    "redeemed": Coalesce(-Sum("points", filter=Q(kind=EntryKind.REDEEM)), 0),
    "expired": Coalesce(-Sum("points", filter=Q(kind=EntryKind.EXPIRE)), 0),
    "clawed_back": Coalesce(-Sum("points", filter=Q(kind=EntryKind.CLAWBACK)), 0),
}


def entries_happened(start: dt.datetime, end: dt.datetime) -> QuerySet[LedgerEntry]:
    """Entries that happened in ``[start, end)`` (each side of the OR has its own index: the refunds' dates, then
    their entries by refund)."""
    refunds = Refund.objects.filter(occurred_at__gte=start, occurred_at__lt=end).values("pk")
    return LedgerEntry.objects.filter(
        Q(refund__isnull=True, effective_at__gte=start, effective_at__lt=end) | Q(refund__in=refunds)
    )


def period_figures(period: Period, programme: Programme, outstanding_now: int) -> dict[str, Any]:
    start, end = period.start, period.end
    members = Member.objects.filter(erased_at__isnull=True).aggregate(
        total=Count("pk", filter=Q(enrolled_at__lt=end)),
        new=Count("pk", filter=Q(enrolled_at__gte=start, enrolled_at__lt=end)),
    )
    active = Order.objects.filter(occurred_at__gte=end - dt.timedelta(days=90), occurred_at__lt=end).aggregate(
        d30=Count("member", distinct=True, filter=Q(occurred_at__gte=end - dt.timedelta(days=30))),
        d90=Count("member", distinct=True),
    )
    in_period = Order.objects.filter(occurred_at__gte=start, occurred_at__lt=end)
    by_currency = {
        row["currency"]: (row["count"], row["revenue"])
        for row in in_period.values("currency").annotate(count=Count("pk"), revenue=Sum("amount")).order_by()
    }
    buyers = (
        in_period.values("member")
        .annotate(n=Count("pk"))
        .aggregate(buyers=Count("member"), repeat=Count("member", filter=Q(n__gte=2)))
    )
    points = entries_happened(start, end).aggregate(**POINTS)
    # Balances at the period's end: today's, less what was recorded since (a balance moves when recorded).
    since_end = LedgerEntry.objects.filter(created_at__gte=end).aggregate(total=Coalesce(Sum("points"), 0))["total"]
    outstanding = outstanding_now - since_end
    winback = Voucher.objects.filter(winback_offer__isnull=False, created_at__gte=start, created_at__lt=end)
    came_back = Order.objects.filter(member=OuterRef("member"), occurred_at__gte=OuterRef("created_at"))
    winback_counts = winback.aggregate(issued=Count("pk"), returned=Count("pk", filter=Exists(came_back)))
    orders = sum(count for count, _revenue in by_currency.values())
    return {
        "members_total": members["total"],
        "members_new": members["new"],
        "active_30": active["d30"],
        "active_90": active["d90"],
        "buyers": buyers["buyers"],
        "orders": orders,
        "revenue": {currency: revenue for currency, (_count, revenue) in by_currency.items()},
        "average_order": {
            currency: (revenue / count).quantize(Decimal("0.01")) for currency, (count, revenue) in by_currency.items()
        },
        "repeat_rate": ratio(buyers["repeat"], buyers["buyers"]),
        "frequency": (Decimal(orders) / buyers["buyers"]).quantize(Decimal("0.01")) if buyers["buyers"] else 0,
        "points_issued": points["issued"],
        "points_redeemed": points["redeemed"],
        "points_expired": points["expired"],
        "points_clawed_back": points["clawed_back"],
        "redemption_rate": ratio(points["redeemed"], points["issued"]),
        "outstanding": outstanding,
        "liability": (Decimal(max(outstanding, 0)) * programme.point_value).quantize(Decimal("0.01")),
        "winback_issued": winback_counts["issued"],
        "winback_returned": winback_counts["returned"],
    }


def _daily(period: Period) -> bool:
    return period.end - period.start <= DAILY_UP_TO


def _bucket(period: Period) -> Callable[..., Any]:
    return TruncDay if _daily(period) else TruncMonth


def buckets(period: Period) -> list[dt.date]:
    """Every day of the period (up to three months), or else every month it touches: a series has a point for
    each, whether or not anything happened then."""
    first = timezone.localtime(period.start).date()
    last = timezone.localtime(period.end - dt.timedelta(microseconds=1)).date()
    if _daily(period):
        return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]
    month, days = first.replace(day=1), []
    while month <= last:
        days.append(month)
        month += relativedelta(months=1)
    return days


def _local_day(value: dt.datetime | dt.date) -> dt.date:
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


def members_series(period: Period) -> list[tuple[dt.date, int]]:
    """Members at the end of each day (or month) of the period."""
    members = Member.objects.filter(erased_at__isnull=True)
    before = members.filter(enrolled_at__lt=period.start).count()
    per_bucket = dict(
        members.filter(enrolled_at__gte=period.start, enrolled_at__lt=period.end)
        .annotate(bucket=_bucket(period)("enrolled_at"))
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by("bucket")
        .values_list("bucket", "n")
    )
    joined = {_local_day(bucket): n for bucket, n in per_bucket.items()}
    series, total = [], before
    for day in buckets(period):
        total += joined.get(day, 0)
        series.append((day, total))
    return series


def points_series(period: Period) -> list[tuple[dt.date, int, int, int]]:
    """Points issued, redeemed and expired per day (or month) of the period, by when they happened."""
    rows = (
        entries_happened(period.start, period.end)
        .annotate(bucket=_bucket(period)(HAPPENED))
        .values("bucket")
        .annotate(issued=POINTS["issued"], redeemed=POINTS["redeemed"], expired=POINTS["expired"])
        .order_by("bucket")
    )
    found = {_local_day(row["bucket"]): (row["issued"], row["redeemed"], row["expired"]) for row in rows}
    return [(day, *found.get(day, (0, 0, 0))) for day in buckets(period)]
