"""The staff dashboard's figures: aggregate queries only, so the page costs the same for 10 or 10 million members.

Every figure is for a period ``[start, end)`` and the one just before it of the same length. Counts by the time
things happened (orders by ``occurred_at``, points by the entry's ``created_at``, members by ``enrolled_at``).
Money is never added across currencies: revenue and average order value are one figure per currency the shops
report in (the programme's first), and revenue per tier is per tier and currency. Revenue per tier counts each
order at the tier it earned at. Outstanding points are the balances at the period's end
(today's balances less what was entered since), valued at the programme's ``point_value``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.db.models.functions import Coalesce, TruncDay, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty import hooks
from loyalty.models import (
    EntryKind,
    LedgerEntry,
    Order,
    PointsAccount,
    Programme,
    Tier,
    TierChange,
    Voucher,
)
from members.models import Member

ISSUED_KINDS = [EntryKind.EARN, EntryKind.BONUS, EntryKind.ADJUST]
DAILY_UP_TO = dt.timedelta(days=92)


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def from_dates(cls, *, first: dt.date, last: dt.date) -> Period:
        """The days ``first`` to ``last`` inclusive, in the club's time zone."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return cls(start=start, end=end)

    @property
    def previous(self) -> Period:
        return Period(start=self.start - (self.end - self.start), end=self.start)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    current: Any
    previous: Any

    @property
    def change(self) -> Decimal | None:
        """Relative change in percent, or None when there is nothing to compare with."""
        if not isinstance(self.current, int | Decimal) or not self.previous:
            return None
        return (Decimal(self.current) - Decimal(self.previous)) * 100 / Decimal(self.previous)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Dashboard:
    period: Period
    previous: Period
    figures: list[Figure]
    tables: list[Table]
    members_series: list[tuple[dt.date, int]] = field(default_factory=list)
    points_series: list[tuple[dt.date, int, int, int]] = field(default_factory=list)
    tier_distribution: list[tuple[str, str, int]] = field(default_factory=list)

    def table(self, key: str) -> Table | None:
        return next((table for table in self.tables if table.key == key), None)


def _ratio(part: int | Decimal, whole: int | Decimal) -> Decimal:
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else Decimal("0")


def _period_figures(period: Period, programme: Programme, outstanding_now: int) -> dict[str, Any]:
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
    points = LedgerEntry.objects.filter(created_at__gte=start, created_at__lt=end).aggregate(
        issued=Coalesce(Sum("points", filter=Q(kind__in=ISSUED_KINDS, points__gt=0)), 0),
        redeemed=Coalesce(-Sum("points", filter=Q(kind=EntryKind.REDEEM)), 0),
        expired=Coalesce(-Sum("points", filter=Q(kind=EntryKind.EXPIRE)), 0),
    )
    since_end = LedgerEntry.objects.filter(created_at__gte=end).aggregate(total=Coalesce(Sum("points"), 0))["total"]
    outstanding = outstanding_now - since_end
    winback = Voucher.objects.filter(winback_offer__isnull=False, created_at__gte=start, created_at__lt=end)
    came_back = Order.objects.filter(member=OuterRef("member"), occurred_at__gte=OuterRef("created_at"))
    winback_counts = winback.aggregate(issued=Count("pk"), returned=Count("pk", filter=Exists(came_back)))
    return {
        "members_total": members["total"],
        "members_new": members["new"],
        "active_30": active["d30"],
        "active_90": active["d90"],
        "orders": sum(count for count, _revenue in by_currency.values()),
        "revenue": {currency: revenue for currency, (_count, revenue) in by_currency.items()},
        "average_order": {
            currency: (revenue / count).quantize(Decimal("0.01")) for currency, (count, revenue) in by_currency.items()
        },
        "repeat_rate": _ratio(buyers["repeat"], buyers["buyers"]),
        "points_issued": points["issued"],
        "points_redeemed": points["redeemed"],
        "points_expired": points["expired"],
        "redemption_rate": _ratio(points["redeemed"], points["issued"]),
        "outstanding": outstanding,
        "liability": (Decimal(max(outstanding, 0)) * programme.point_value).quantize(Decimal("0.01")),
        "winback_issued": winback_counts["issued"],
        "winback_returned": winback_counts["returned"],
    }


FIGURE_LABELS: list[tuple[str, Any]] = [
    ("members_total", _("Members")),
    ("members_new", _("New members")),
    ("active_30", _("Active in the last 30 days")),
    ("active_90", _("Active in the last 90 days")),
    ("orders", _("Orders reported")),
    ("revenue", _("Revenue reported")),  # one figure per currency
    ("average_order", _("Average order value")),  # one figure per currency
    ("repeat_rate", _("Repeat purchase rate, percent")),
    ("points_issued", _("Points issued")),
    ("points_redeemed", _("Points redeemed")),
    ("points_expired", _("Points expired")),
    ("redemption_rate", _("Redemption rate, percent")),
    ("outstanding", _("Outstanding points")),
    ("liability", _("Liability of outstanding points")),
    ("winback_issued", _("Win-back codes sent")),
    ("winback_returned", _("Win-back returns (ordered after the code)")),
]


def _figures(current: dict[str, Any], previous: dict[str, Any], currencies: list[str]) -> list[Figure]:
    """The figures in ``FIGURE_LABELS``' order, money ones once per currency ("Revenue reported (SEK)")."""
    figures = []
    for key, label in FIGURE_LABELS:
        if isinstance(current[key], dict):
            figures += [
                Figure(
                    f"{key}_{currency.lower()}",
                    f"{label} ({currency})",
                    current[key].get(currency, 0),
                    previous[key].get(currency, 0),
                )
                for currency in currencies
            ]
        else:
            figures.append(Figure(key, str(label), current[key], previous[key]))
    return figures


def _tier_revenue(period: Period) -> list[list[Any]]:
    rows = (
        Order.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end)
        .values("currency", tier_name=F("tier__name"))
        .annotate(orders=Count("pk"), revenue=Sum("amount"), buyers=Count("member", distinct=True))
        .order_by("tier_name", "currency")
    )
    return [
        [
            row["tier_name"] or "—",
            row["currency"],
            row["buyers"],
            row["orders"],
            row["revenue"],
            (row["revenue"] / row["orders"]).quantize(Decimal("0.01")),
        ]
        for row in rows
    ]


def _tier_movement(period: Period) -> list[list[Any]]:
    """Moves between tiers in the period, from the tier history (``TierChange``): a renamed tier keeps its moves."""
    rows = (
        TierChange.objects.filter(changed_at__gte=period.start, changed_at__lt=period.end)
        .values("from_tier__name", "to_tier__name", "up")
        .annotate(n=Count("pk"))
        .order_by("from_tier__name", "to_tier__name", "up")
    )
    return [
        [row["from_tier__name"] or "—", row["to_tier__name"] or "—", _("up") if row["up"] else _("down"), row["n"]]
        for row in rows
    ]


def _bucket(period: Period) -> Callable[..., Any]:
    return TruncDay if period.end - period.start <= DAILY_UP_TO else TruncMonth


def _members_series(period: Period) -> list[tuple[dt.date, int]]:
    members = Member.objects.filter(erased_at__isnull=True)
    before = members.filter(enrolled_at__lt=period.start).count()
    trunc = _bucket(period)
    per_bucket = (
        members.filter(enrolled_at__gte=period.start, enrolled_at__lt=period.end)
        .annotate(bucket=trunc("enrolled_at"))
        .values("bucket")
        .annotate(n=Count("pk"))
        .order_by("bucket")
    )
    series, total = [], before
    for row in per_bucket:
        total += row["n"]
        series.append((timezone.localtime(row["bucket"]).date(), total))
    return series or [(period.start.date(), before)]


def _points_series(period: Period) -> list[tuple[dt.date, int, int, int]]:
    trunc = _bucket(period)
    rows = (
        LedgerEntry.objects.filter(created_at__gte=period.start, created_at__lt=period.end)
        .annotate(bucket=trunc("created_at"))
        .values("bucket")
        .annotate(
            issued=Coalesce(Sum("points", filter=Q(kind__in=ISSUED_KINDS, points__gt=0)), 0),
            redeemed=Coalesce(-Sum("points", filter=Q(kind=EntryKind.REDEEM)), 0),
            expired=Coalesce(-Sum("points", filter=Q(kind=EntryKind.EXPIRE)), 0),
        )
        .order_by("bucket")
    )
    return [(timezone.localtime(row["bucket"]).date(), row["issued"], row["redeemed"], row["expired"]) for row in rows]


def dashboard_build(*, period: Period, programme: Programme | None = None) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of queries."""
    programme = programme or Programme.load()
    tiers = list(Tier.objects.order_by("threshold"))
    outstanding_now = PointsAccount.objects.aggregate(total=Coalesce(Sum("balance"), 0))["total"]
    current = _period_figures(period, programme, outstanding_now)
    previous = _period_figures(period.previous, programme, outstanding_now)
    reported = set(current["revenue"]) | set(previous["revenue"]) | {programme.currency}
    currencies = [programme.currency, *sorted(reported - {programme.currency})]
    figures = _figures(current, previous, currencies)

    counts = dict(
        Member.objects.filter(erased_at__isnull=True)
        .values_list("points__tier_id")
        .annotate(n=Count("pk"))
        .values_list("points__tier_id", "n")
    )
    distribution = [(tier.name, tier.colour, counts.get(tier.pk, 0)) for tier in tiers]
    if counts.get(None):
        distribution.append((str(_("No tier")), "#999999", counts[None]))

    funnel_now = hooks.dashboard_funnel(start=period.start, end=period.end)
    funnel_before = dict(hooks.dashboard_funnel(start=period.previous.start, end=period.previous.end))
    tables = [
        Table(
            "summary",
            str(_("Figures")),
            [str(_("Figure")), str(_("This period")), str(_("Previous period"))],
            [[f.label, f.current, f.previous] for f in figures],
        ),
        Table(
            "tiers",
            str(_("Tier distribution (now)")),
            [str(_("Tier")), str(_("Members"))],
            [[name, count] for name, _colour, count in distribution],
        ),
        Table(
            "tier_movement",
            str(_("Tier movement in the period")),
            [str(_("From")), str(_("To")), str(_("Direction")), str(_("Members"))],
            _tier_movement(period),
        ),
        Table(
            "tier_revenue",
            str(_("Revenue and average order value per tier")),
            [
                str(_("Tier")),
                str(_("Currency")),
                str(_("Buyers")),
                str(_("Orders")),
                str(_("Revenue")),
                str(_("Average order value")),
            ],
            _tier_revenue(period),
        ),
        Table(
            "referral_funnel",
            str(_("Referral funnel")),
            [str(_("Step")), str(_("This period")), str(_("Previous period"))],
            [[label, value, funnel_before.get(label, 0)] for label, value in funnel_now],
        ),
    ]
    members_series = _members_series(period)
    points_series = _points_series(period)
    tables += [
        Table(
            "members_series",
            str(_("Members over time")),
            [str(_("Date")), str(_("Members"))],
            [[day.isoformat(), n] for day, n in members_series],
        ),
        Table(
            "points_series",
            str(_("Points flow")),
            [str(_("Date")), str(_("Issued")), str(_("Redeemed")), str(_("Expired"))],
            [[day.isoformat(), *values] for day, *values in points_series],
        ),
    ]
    return Dashboard(
        period=period,
        previous=period.previous,
        figures=figures,
        tables=tables,
        members_series=members_series,
        points_series=points_series,
        tier_distribution=distribution,
    )


# At a million members the board takes a second or two to build: it is kept this long per period.
CACHE_SECONDS = 300


def dashboard_cached(*, period: Period, programme: Programme, refresh: bool = False) -> tuple[Dashboard, dt.datetime]:
    """``dashboard_build`` from the cache when it was built in the last ``CACHE_SECONDS`` for this period
    (``refresh``: build it again). Returns the board and when it was built."""
    key = f"klubb:dashboard:{period.start.isoformat()}:{period.end.isoformat()}:{programme.point_value}"
    cached = None if refresh else cache.get(key)
    if cached is None:
        cached = (dashboard_build(period=period, programme=programme), timezone.now())
        cache.set(key, cached, CACHE_SECONDS)
    return cached
