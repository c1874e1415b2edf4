"""Putting the board together from the period's figures, the health tables and the accounting view, and keeping
it in the cache for a few minutes per period."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from loyalty import hooks
from loyalty.models import PointsAccount, Programme, Tier
from loyalty.replenishment import FOLLOW_UP_DAYS, replenishment_results
from loyalty.staff.dashboard import accounting, flow, health, returns
from loyalty.staff.dashboard.types import Dashboard, Figure, Period, Table, ratio
from members.models import Member

FIGURE_LABELS: list[tuple[str, Any]] = [
    ("members_total", _("Members")),
    ("members_new", _("New members")),
    ("active_30", _("Active in the last 30 days")),
    ("active_90", _("Active in the last 90 days")),
    ("orders", _("Orders reported")),
    ("revenue", _("Revenue reported")),  # one figure per currency
    ("average_order", _("Average order value")),  # one figure per currency
    ("repeat_rate", _("Repeat purchase rate, percent")),
    ("frequency", _("Orders per member who ordered")),
    ("points_issued", _("Points issued")),
    ("points_redeemed", _("Points redeemed")),
    ("points_expired", _("Points expired")),
    ("points_clawed_back", _("Points clawed back by refunds")),
    ("redemption_rate", _("Redemption rate, percent")),
    ("outstanding", _("Outstanding points")),
    ("liability", _("Liability of outstanding points")),  # in the programme's currency
    ("winback_issued", _("Win-back codes sent")),
    ("winback_returned", _("Win-back returns (ordered after the code)")),
]


def _figures(current: dict[str, Any], previous: dict[str, Any], currencies: list[str]) -> list[Figure]:
    """The figures in ``FIGURE_LABELS``' order, money ones once per currency ("Revenue reported (SEK)"), the
    liability in the programme's currency (the first)."""
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
        elif key == "liability":
            figures.append(Figure(key, f"{label} ({currencies[0]})", current[key], previous[key]))
        else:
            figures.append(Figure(key, str(label), current[key], previous[key]))
    return figures


# The page shows the products and categories with the most returns; the CSV has them all.
RETURNS_SHOWN = 20


def _headers(*labels: Any) -> list[str]:
    return [str(label) for label in labels]


def _replenishment(period: Period) -> list[list[Any]]:
    """Per rule, and for all rules: reminders sent in the period, how many an order of the item followed within
    ``FOLLOW_UP_DAYS``, and that share in percent."""
    results = replenishment_results(start=period.start, end=period.end)
    sent, followed = sum(r.sent for r in results), sum(r.followed for r in results)
    rows = [[r.rule, r.sent, r.followed, ratio(r.followed, r.sent)] for r in results]
    return [*rows, [str(_("All rules")), sent, followed, ratio(followed, sent)]] if rows else []


def dashboard_build(*, period: Period, programme: Programme | None = None) -> Dashboard:
    """Everything the dashboard shows, in a fixed number of queries."""
    programme = programme or Programme.load()
    tiers = list(Tier.objects.order_by("threshold"))
    outstanding_now = PointsAccount.objects.aggregate(total=Coalesce(Sum("balance"), 0))["total"]
    current = flow.period_figures(period, programme, outstanding_now)
    previous = flow.period_figures(period.previous, programme, outstanding_now)
    reported = set(current["revenue"]) | set(previous["revenue"]) | {programme.currency}
    currencies = [programme.currency, *sorted(reported - {programme.currency})]
    figures = _figures(current, previous, currencies)

    counts: dict[int | None, int] = dict(
        Member.objects.filter(erased_at__isnull=True)
        .values_list("points__tier_id")
        .annotate(n=Count("pk"))
        .values_list("points__tier_id", "n")
    )
    distribution = [(str(tier.name), tier.colour, counts.get(tier.pk, 0)) for tier in tiers]
    if counts.get(None):
        distribution.append((str(_("No tier")), "#999999", counts[None]))

    cohorts = accounting.breakage_cohorts(now=timezone.now())
    books = accounting.accounting_view(programme=programme, outstanding=current["outstanding"], cohorts=cohorts)
    funnel_now = hooks.dashboard_funnel(start=period.start, end=period.end)
    funnel_before = dict(hooks.dashboard_funnel(start=period.previous.start, end=period.previous.end))
    members = flow.members_series(period)
    points = flow.points_series(period)
    returned = returns.returns_tables(period)
    rate_columns = (
        _("Ordered"),
        _("Returned"),
        _("Return rate, percent"),
        _("Ordered value"),
        _("Refunded"),
        _("Refunded, percent"),
        _("Most common reason"),
    )
    money = f"({programme.currency})"
    value_label, liability_label, deferred_label = _("Value of one point"), _("Liability"), _("Deferred revenue")
    tables = [
        Table(
            "summary",
            str(_("Figures")),
            _headers(_("Figure"), _("This period"), _("Previous period")),
            [[f.label, f.current, f.previous] for f in figures],
        ),
        Table(
            "clv",
            str(_("Customer value per tier: spend in the last 12 months")),
            _headers(
                _("Tier"),
                _("Currency"),
                _("Members"),
                _("Buyers"),
                _("Spend"),
                _("Spend per member"),
                _("Spend per buyer"),
            ),
            health.clv_per_tier(period, tiers, counts, programme.currency),
        ),
        Table(
            "members_buying",
            str(_("How members buy")),
            _headers(_("Figure"), _("This period")),
            health.members_buying(current, currencies),
        ),
        Table(
            "rewards",
            str(_("Reward popularity")),
            _headers(_("Reward"), _("Redeemed"), _("Points spent"), _("Cancelled"), _("Stock left")),
            health.reward_popularity(period),
        ),
        Table(
            "retention",
            str(_("Cohort retention: share of members who ordered, by month joined")),
            _headers(
                _("Joined"),
                _("Members"),
                _("After 1 month, %"),
                _("After 3 months, %"),
                _("After 6 months, %"),
                _("After 12 months, %"),
            ),
            health.cohort_retention(period),
        ),
        Table(
            "accounting",
            str(_("Points liability and deferred revenue")),
            _headers(_("Figure"), _("Value")),
            [
                [str(_("Outstanding points")), books.outstanding],
                [f"{value_label} {money}", books.point_value],
                [f"{liability_label} {money}", books.liability],
                [str(_("Breakage rate, percent")), "—" if books.breakage is None else books.breakage],
                [str(_("Months of issue the rate is estimated from")), books.cohorts],
                [f"{deferred_label} {money}", books.deferred_revenue],
            ],
        ),
        Table(
            "breakage",
            str(_("Breakage by month issued")),
            _headers(_("Month issued"), _("Points issued"), _("Points expired"), _("Breakage, percent")),
            accounting.breakage_table(cohorts),
        ),
        Table(
            "returns",
            str(_("Returns of the period's orders, per currency")),
            _headers(
                _("Currency"),
                _("Orders"),
                _("Orders with a refund"),
                _("Orders with a refund, percent"),
                _("Order amount"),
                _("Refunded"),
                _("Refunded, percent"),
            ),
            returned["summary"],
        ),
        Table(
            "return_reasons",
            str(_("Return reasons")),
            _headers(
                _("Return reason"),
                _("Currency"),
                _("Refunds"),
                _("Share of refunds, percent"),
                _("Items returned"),
                _("Refunded"),
            ),
            returned["reasons"],
        ),
        Table(
            "returns_products",
            str(_("Returns per product")),
            _headers(_("SKU"), _("Product"), _("Category"), _("Currency"), *rate_columns),
            returned["products"],
            shown=RETURNS_SHOWN,
        ),
        Table(
            "returns_categories",
            str(_("Returns per category")),
            _headers(_("Category"), _("Currency"), *rate_columns),
            returned["categories"],
            shown=RETURNS_SHOWN,
        ),
        Table(
            "tiers",
            str(_("Tier distribution (now)")),
            _headers(_("Tier"), _("Members")),
            [[name, count] for name, _colour, count in distribution],
        ),
        Table(
            "tier_movement",
            str(_("Tier movement in the period")),
            _headers(_("From"), _("To"), _("Direction"), _("Members")),
            health.tier_movement(period),
        ),
        Table(
            "tier_revenue",
            str(_("Revenue and average order value per tier")),
            _headers(_("Tier"), _("Currency"), _("Buyers"), _("Orders"), _("Revenue"), _("Average order value")),
            health.tier_revenue(period),
        ),
        Table(
            "replenishment",
            str(_("Replenishment reminders sent in the period")),
            _headers(
                _("Rule"),
                _("Reminders sent"),
                _("Followed by an order of the item within %(days)s days") % {"days": FOLLOW_UP_DAYS},
                _("Followed, percent"),
            ),
            _replenishment(period),
        ),
        Table(
            "referral_funnel",
            str(_("Referral funnel")),
            _headers(_("Step"), _("This period"), _("Previous period")),
            [[label, value, funnel_before.get(label, 0)] for label, value in funnel_now],
        ),
        Table(
            "members_series",
            str(_("Members over time")),
            _headers(_("Date"), _("Members")),
            [[day.isoformat(), n] for day, n in members],
        ),
        Table(
            "points_series",
            str(_("Points flow")),
            _headers(_("Date"), _("Issued"), _("Redeemed"), _("Expired")),
            [[day.isoformat(), *values] for day, *values in points],
        ),
    ]
    return Dashboard(
        period=period,
        previous=period.previous,
        figures=figures,
        tables=tables,
        accounting=books,
        members_series=members,
        points_series=points,
        tier_distribution=distribution,
    )


# At a million members the board takes a second or two to build: it is kept this long per period.
CACHE_SECONDS = 300


def dashboard_cached(*, period: Period, programme: Programme, refresh: bool = False) -> tuple[Dashboard, dt.datetime]:
    """``dashboard_build`` from the cache when it was built in the last ``CACHE_SECONDS`` for this period and
    language (``refresh``: build it again). Returns the board and when it was built."""
    # Per language too: the tables' titles, headings and labels (return reasons, tiers) are in the staff's language.
    language = translation.get_language()
    key = f"klubb:dashboard:v3:{language}:{period.start.isoformat()}:{period.end.isoformat()}:{programme.point_value}"
    cached = None if refresh else cache.get(key)
    if cached is None:
        cached = (dashboard_build(period=period, programme=programme), timezone.now())
        cache.set(key, cached, CACHE_SECONDS)
    return cached
