"""The programme's health: what members of each tier spend (CLV), how members buy, which rewards they choose,
and whether members who joined in a month still order months later (cohort retention).

Each function is one or two aggregate queries, whatever the number of members, orders or rewards.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.db.models.functions import Coalesce, ExtractMonth, ExtractYear
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import Order, Redemption, RedemptionStatus, Reward, Tier, TierChange, VoucherStatus
from loyalty.staff.dashboard.types import Period, ratio
from members.models import Member

CLV_MONTHS = 12
RETENTION_AFTER = (1, 3, 6, 12)  # months after the month a member joined
COHORTS = 13  # the month of the period's end and the twelve before it
NET = ExpressionWrapper(F("amount") - F("refunded_amount"), output_field=DecimalField(max_digits=14, decimal_places=2))


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def clv_per_tier(
    period: Period, tiers: list[Tier], members_in_tier: dict[int | None, int], currency: str
) -> list[list[Any]]:
    """Per tier (members' tier now) and currency: members, buyers, spend net of refunds in the twelve months to
    the period's end, and spend per member (the tier's customer value over a year) and per buyer. A tier nobody
    in it bought from has one row of zeros in the programme's ``currency``."""
    since = period.end - relativedelta(months=CLV_MONTHS)
    rows = (
        Order.objects.filter(occurred_at__gte=since, occurred_at__lt=period.end, member__erased_at__isnull=True)
        .values("currency", member_tier=F("member__points__tier"))
        .annotate(buyers=Count("member", distinct=True), spend=Sum(NET))
        .order_by()
    )
    spend = {(row["member_tier"], row["currency"]): (row["buyers"], row["spend"]) for row in rows}
    names: dict[int | None, str] = {tier.pk: str(tier.name) for tier in tiers}
    order = [tier.pk for tier in tiers] + ([None] if members_in_tier.get(None) else [])
    table = []
    for tier_id in order:
        members = members_in_tier.get(tier_id, 0)
        currencies = sorted({found for (tid, found) in spend if tid == tier_id}) or [currency]
        for shown in currencies:
            buyers, total = spend.get((tier_id, shown), (0, Decimal("0.00")))
            table.append(
                [
                    names.get(tier_id, str(_("No tier"))),
                    shown,
                    members,
                    buyers,
                    total,
                    _money(total / members) if members else Decimal("0.00"),
                    _money(total / buyers) if buyers else Decimal("0.00"),
                ]
            )
    return table


def tier_revenue(period: Period) -> list[list[Any]]:
    """Revenue per tier the orders earned at, per currency."""
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
            _money(row["revenue"] / row["orders"]),
        ]
        for row in rows
    ]


def tier_movement(period: Period) -> list[list[Any]]:
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


def members_buying(current: dict[str, Any], currencies: list[str]) -> list[list[Any]]:
    """How members bought in the period: the side of a members-versus-others comparison Klubb can know."""
    members = current["members_total"]
    rows: list[list[Any]] = [
        [str(_("Members who ordered")), current["buyers"]],
        [str(_("Share of members who ordered, percent")), ratio(current["buyers"], members)],
        [str(_("Repeat purchase rate, percent")), current["repeat_rate"]],
        [str(_("Orders per member who ordered")), current["frequency"]],
    ]
    average = _("Average order value")
    rows += [
        [f"{average} ({currency})", current["average_order"][currency]]
        for currency in currencies
        if currency in current["average_order"]
    ]
    return rows


def reward_popularity(period: Period) -> list[list[Any]]:
    """Per reward: vouchers redeemed in the period (not cancelled since), the points they cost, those cancelled,
    and the stock left ("—": no limit); then points spent at shops' checkouts. Most redeemed first."""
    in_period = Q(vouchers__created_at__gte=period.start, vouchers__created_at__lt=period.end)
    kept = in_period & ~Q(vouchers__status=VoucherStatus.CANCELLED)
    rewards = (
        Reward.objects.annotate(
            redeemed=Count("vouchers", filter=kept),
            points=Coalesce(Sum("vouchers__points", filter=kept), 0),
            cancelled=Count("vouchers", filter=in_period & Q(vouchers__status=VoucherStatus.CANCELLED)),
        )
        .filter(Q(redeemed__gt=0) | Q(cancelled__gt=0) | Q(is_active=True))
        .order_by("-redeemed", "-points", "name")
    )
    rows: list[list[Any]] = [
        [
            str(reward.name),
            reward.redeemed,
            reward.points,
            reward.cancelled,
            "—" if reward.stock is None else reward.stock,
        ]
        for reward in rewards
    ]
    checkout = Redemption.objects.filter(
        created_at__gte=period.start, created_at__lt=period.end, status=RedemptionStatus.CAPTURED
    ).aggregate(n=Count("pk"), points=Coalesce(Sum(F("points") - F("points_returned")), 0))
    if checkout["n"]:
        rows.append([str(_("Points at a shop's checkout")), checkout["n"], checkout["points"], 0, "—"])
    return rows


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def cohort_retention(period: Period) -> list[list[Any]]:
    """Members by the month they joined (the month of the period's end and the twelve before), and the share of
    them who ordered in the calendar month 1, 3, 6 and 12 months later ("—": that month is not over yet)."""
    end_day = timezone.localtime(period.end - dt.timedelta(microseconds=1)).date()
    now_month = _month_index(end_day.year, end_day.month)
    first = end_day.replace(day=1) - relativedelta(months=COHORTS - 1)
    since = dt.datetime.combine(first, dt.time.min, tzinfo=timezone.get_current_timezone())
    joined = Member.objects.filter(erased_at__isnull=True, enrolled_at__gte=since, enrolled_at__lt=period.end)
    sizes = {
        _month_index(row["y"], row["m"]): row["n"]
        for row in joined.annotate(y=ExtractYear("enrolled_at"), m=ExtractMonth("enrolled_at"))
        .values("y", "m")
        .annotate(n=Count("pk"))
        .order_by()
    }
    active = (
        Order.objects.filter(member__in=joined, occurred_at__lt=period.end)
        .annotate(
            jy=ExtractYear("member__enrolled_at"),
            jm=ExtractMonth("member__enrolled_at"),
            oy=ExtractYear("occurred_at"),
            om=ExtractMonth("occurred_at"),
        )
        .values("jy", "jm", "oy", "om")
        .annotate(n=Count("member", distinct=True))
        .order_by()
    )
    ordered: dict[tuple[int, int], int] = {}
    for row in active:
        cohort = _month_index(row["jy"], row["jm"])
        ordered[(cohort, _month_index(row["oy"], row["om"]) - cohort)] = row["n"]
    rows = []
    for cohort in sorted(sizes):
        cells: list[Any] = [f"{cohort // 12:04d}-{cohort % 12 + 1:02d}", sizes[cohort]]
        for after in RETENTION_AFTER:
            over = cohort + after < now_month  # that whole month has passed
            cells.append(ratio(ordered.get((cohort, after), 0), sizes[cohort]) if over else "—")
        rows.append(cells)
    return rows
