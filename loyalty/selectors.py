"""Reads of the points engine. Pages and the API both use these, so members see one truth."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from loyalty.models import LedgerEntry, Order, PointsAccount, Programme, Shop, Tier
from loyalty.services.tiers import tier_for_points, tier_points
from members.models import Member


@dataclass(frozen=True)
class Standing:
    """Where a member stands: what they have, their tier, and what they get next."""

    balance: int
    tier: Tier | None
    next_tier: Tier | None
    tier_points: int
    points_to_next_tier: int
    progress_percent: int
    window_months: int | None


def member_standing(*, member: Member, programme: Programme | None = None, tiers: list[Tier] | None = None) -> Standing:
    """Balance, tier, next tier and progress towards it, in at most three queries.

    Progress is measured from the current tier's threshold to the next one, so the bar starts
    empty at each new tier.
    """
    programme = programme or Programme.load()
    tiers = tiers if tiers is not None else list(Tier.objects.order_by("threshold"))
    account = PointsAccount.objects.select_related("tier").filter(member=member).first()
    balance = account.balance if account else 0
    qualifying = tier_points(member_id=member.pk, programme=programme)
    tier = account.tier if account and account.tier else tier_for_points(points=0, tiers=tiers)
    floor = tier.threshold if tier else 0
    next_tier = next((t for t in tiers if t.threshold > floor), None)
    if next_tier is None:
        needed, percent = 0, 100
    else:
        needed = max(next_tier.threshold - qualifying, 0)
        span = next_tier.threshold - floor
        percent = min(100, max(0, (qualifying - floor) * 100 // span)) if span else 100
    return Standing(
        balance=balance,
        tier=tier,
        next_tier=next_tier,
        tier_points=qualifying,
        points_to_next_tier=needed,
        progress_percent=percent,
        window_months=programme.tier_window_months,
    )


def member_entries(*, member: Member) -> QuerySet[LedgerEntry]:
    """The member's ledger, newest first, with what each entry refers to."""
    return LedgerEntry.objects.filter(member=member).select_related("order__shop", "refund", "staff").order_by("-id")


def shop_orders(*, shop: Shop) -> QuerySet[Order]:
    return Order.objects.filter(shop=shop).select_related("member").order_by("-created_at", "-id")


def shop_order(*, shop: Shop, order_id: str) -> Order | None:
    return shop_orders(shop=shop).prefetch_related("refunds").filter(external_id=order_id).first()


@dataclass(frozen=True)
class LedgerMismatch:
    member_id: int
    email: str
    balance: int
    entries_sum: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """Members whose stored balance differs from the sum of their entries, computed in the database.

    Entries of a member who has no account count as a mismatch too (the balance is then 0).
    """
    entries_sum = (
        LedgerEntry.objects.filter(member_id=OuterRef("member_id"))
        .order_by()
        .values("member_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    accounts = (
        PointsAccount.objects.annotate(entries_sum=Coalesce(Subquery(entries_sum), 0))
        .exclude(balance=F("entries_sum"))
        .values_list("member_id", "member__user__email", "balance", "entries_sum")
    )
    orphans = (
        LedgerEntry.objects.filter(member__points__isnull=True)
        .order_by()
        .values("member_id", "member__user__email")
        .annotate(total=Sum("points"))
        .values_list("member_id", "member__user__email", "total")
    )
    found = [LedgerMismatch(member_id=m, email=e, balance=b, entries_sum=t) for m, e, b, t in accounts]
    found += [LedgerMismatch(member_id=m, email=e, balance=0, entries_sum=t) for m, e, t in orphans if t]
    return sorted(found, key=lambda row: row.member_id)
