"""The accounting view of the points liability, IFRS 15 style.

Points members hold are a promise the club has been paid for: the liability is the points outstanding at their
value at a checkout. Some of them will never be used (breakage). The programme's own history estimates how many:
for each month points were issued in whose points have all reached their expiry date (and been expired by the
nightly job), the share that expired unspent. The deferred revenue is the part of the liability expected to be
used: liability x (1 - breakage rate). With no month old enough (or no expiry at all) there is no estimate and
the whole liability is deferred.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from loyalty.models import PointsLot, Programme
from loyalty.staff.dashboard.types import Accounting, ratio


def breakage_cohorts(*, now: dt.datetime) -> list[tuple[dt.date, int, int, bool]]:
    """Per month points were issued in: points issued, points expired unspent so far, and whether the month is
    old enough to count (every lot of it past its expiry date and emptied)."""
    rows = (
        PointsLot.objects.annotate(month=TruncMonth("earned_at"))
        .values("month")
        .annotate(
            issued=Sum("points"),
            expired=Sum("expired"),
            open=Count("pk", filter=Q(expires_at__isnull=True) | Q(expires_at__gt=now) | Q(remaining__gt=0)),
        )
        .order_by("month")
    )
    return [(_day(row["month"]), row["issued"], row["expired"] or 0, row["open"] == 0) for row in rows]


def _day(value: dt.datetime | dt.date) -> dt.date:
    return timezone.localtime(value).date() if isinstance(value, dt.datetime) else value


def breakage_table(cohorts: list[tuple[dt.date, int, int, bool]]) -> list[list[Any]]:
    return [
        [f"{month:%Y-%m}", issued, expired, ratio(expired, issued) if old else "—"]
        for month, issued, expired, old in cohorts
    ]


def accounting_view(
    *, programme: Programme, outstanding: int, cohorts: list[tuple[dt.date, int, int, bool]]
) -> Accounting:
    """The liability at the period's end, the breakage rate from the months old enough, and the deferred revenue."""
    old = [(issued, expired) for _month, issued, expired, done in cohorts if done]
    issued = sum(issued for issued, _expired in old)
    breakage = (
        (Decimal(sum(expired for _issued, expired in old)) * 100 / issued).quantize(Decimal("0.1")) if issued else None
    )
    liability = (Decimal(max(outstanding, 0)) * programme.point_value).quantize(Decimal("0.01"))
    deferred = liability if breakage is None else (liability * (1 - breakage / 100)).quantize(Decimal("0.01"))
    return Accounting(
        currency=programme.currency,
        point_value=programme.point_value,
        outstanding=outstanding,
        liability=liability,
        breakage=breakage,
        deferred_revenue=deferred,
        cohorts=len(old),
    )
