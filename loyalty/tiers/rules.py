"""The one tier rule, for live orders, the nightly review and the import.

A member's qualifying points are the ``tier_points`` of their entries within the programme's rolling window.
They reach the highest tier whose threshold they meet. An order only ever lifts (``TierRule.lift``); the
review (``TierRule.review``) also moves a member down one level, once they have been below their tier for the
grace period and not within the grace period after moving up, and never while a tier brought from another
programme is held (``TierRule.hold``, ``PointsAccount.tier_held_until``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Protocol

from dateutil.relativedelta import relativedelta
from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from loyalty.events import TierChanged
from loyalty.ledger import tiers_by_threshold
from loyalty.models import LedgerEntry, PointsAccount, Programme, Tier


def tier_window_start(*, programme: Programme, now: dt.datetime | None = None) -> dt.datetime | None:
    """Where the rolling tier window starts, or ``None`` for a lifetime window."""
    if not programme.tier_window_months:
        return None
    return (now or timezone.now()) - relativedelta(months=programme.tier_window_months)


def tier_points(*, member_id: int, programme: Programme, now: dt.datetime | None = None) -> int:
    """Qualifying points earned in the programme's window."""
    return tier_points_since(member_id=member_id, start=tier_window_start(programme=programme, now=now))


def tier_points_since(*, member_id: int, start: dt.datetime | None) -> int:
    """Qualifying points since ``start`` (``None``: ever), one aggregate query.

    Every order of a member below the top tier asks this under the member's lock; building the ORM's aggregate
    cost three times what PostgreSQL spends summing the window by its index, so the SQL is built once per process.
    """
    params: list[object] = [member_id]
    if start is not None:
        params.append(connection.ops.adapt_datetimefield_value(start))
    with connection.cursor() as cursor:
        cursor.execute(_tier_points_sql(since=start is not None), params)
        return cursor.fetchone()[0] or 0


@cache
def _tier_points_sql(*, since: bool) -> str:
    quote, fields = connection.ops.quote_name, LedgerEntry._meta
    column = {name: quote(fields.get_field(name).column) for name in ("member", "effective_at", "tier_points")}
    window = f" AND {column['effective_at']} >= %s" if since else ""
    return f"SELECT SUM({column['tier_points']}) FROM {quote(fields.db_table)} WHERE {column['member']} = %s{window}"


def tier_points_many(*, member_ids: Sequence[int], start: dt.datetime | None) -> dict[int, int]:
    """Qualifying points since ``start`` (``None``: ever) of each of ``member_ids`` that has any (one query)."""
    entries = LedgerEntry.objects.filter(member_id__in=member_ids)
    if start is not None:
        entries = entries.filter(effective_at__gte=start)
    totals = entries.order_by().values("member_id").annotate(total=Sum("tier_points")).values_list("member_id", "total")
    return {member_id: total or 0 for member_id, total in totals}


def tier_for_points(*, points: int, tiers: Sequence[Tier]) -> Tier | None:
    """The highest tier whose threshold ``points`` reaches; ``tiers`` sorted by threshold."""
    reached = None
    for tier in tiers:
        if tier.threshold <= points:
            reached = tier
    return reached


class TierFigures(Protocol):
    """What the tier rule reads of an account: a ``PointsAccount``, or a plain row of its fields."""

    member_id: int
    tier_id: int | None
    tier_since: dt.datetime | None
    below_tier_since: dt.datetime | None
    tier_held_until: dt.datetime | None


@dataclass(frozen=True)
class TierRule:
    """The tier rule at one moment: the ladder, the window and the grace period, applied to accounts."""

    tiers: Sequence[Tier]
    now: dt.datetime
    grace: dt.timedelta
    window_months: int  # 0: a lifetime window
    reason: str  # TierChangeReason recorded with each move

    @cached_property
    def start(self) -> dt.datetime | None:
        """Where the window starts (worked out only when points are counted: not for a member at the top)."""
        return self.now - relativedelta(months=self.window_months) if self.window_months else None

    @classmethod
    def for_programme(
        cls, *, programme: Programme, reason: str, now: dt.datetime | None = None, tiers: Sequence[Tier] | None = None
    ) -> TierRule:
        now = now or timezone.now()
        return cls(
            tiers=tuple(tiers if tiers is not None else tiers_by_threshold()),
            now=now,
            grace=dt.timedelta(days=programme.tier_grace_days),
            window_months=programme.tier_window_months,
            reason=reason,
        )

    def tier_of(self, account: PointsAccount) -> Tier | None:
        """The account's tier, from the ladder this rule holds: a batch of accounts read without their tiers
        costs no query per account."""
        if account.tier_id is None:
            return None
        return next((tier for tier in self.tiers if tier.pk == account.tier_id), None) or account.tier

    def at_top(self, account: PointsAccount) -> bool:
        """Already at the highest tier: no order can lift them, so their points need not be counted."""
        tier = self.tier_of(account)
        current = tier.threshold if tier else -1
        return all(tier.threshold <= current for tier in self.tiers)

    def lift(self, account: PointsAccount, *, points: int) -> TierChanged | None:
        """Move the account up to the tier ``points`` reach, if that is higher (in memory; the caller saves)."""
        target = tier_for_points(points=points, tiers=self.tiers) or (self.tiers[0] if self.tiers else None)
        previous = self.tier_of(account)
        if target is None or (previous is not None and target.threshold <= previous.threshold):
            return None
        account.tier, account.tier_since, account.below_tier_since = target, self.now, None
        return TierChanged(
            member_id=account.member_id, from_tier=previous, to_tier=target, at=self.now, up=True, reason=self.reason
        )

    def review(self, account: PointsAccount, *, points: int) -> TierChanged | None:
        """The nightly rule: lift at once; below the tier for the grace period (and not just lifted), down one."""
        if (change := self.lift(account, points=points)) is not None:
            return change
        current = self.tier_of(account)
        if current is None:
            return None
        if account.tier_held_until is not None and self.now < account.tier_held_until:
            account.below_tier_since = None  # the grace period counts from the end of the hold
            return None
        reached = tier_for_points(points=points, tiers=self.tiers) or self.tiers[0]
        if reached.threshold >= current.threshold:
            account.below_tier_since = None
            return None
        if account.below_tier_since is None:
            account.below_tier_since = self.now
            return None
        recently_up = account.tier_since is not None and self.now - account.tier_since < self.grace
        if self.now - account.below_tier_since < self.grace or recently_up:
            return None
        lower = [tier for tier in self.tiers if tier.threshold < current.threshold]
        if not lower:
            return None
        previous, account.tier, account.tier_since = current, lower[-1], self.now
        account.below_tier_since = self.now if reached.threshold < account.tier.threshold else None
        return TierChanged(
            member_id=account.member_id, from_tier=previous, to_tier=account.tier, at=self.now, up=False,
            reason=self.reason,
        )  # fmt: skip

    def may_move(self, account: TierFigures, *, points: int) -> bool:
        """Whether ``review`` would change an account with these figures (read without its lock). Most
        members are on the tier their points reach and count no grace period, which is decided from the figures
        at once; the others are reviewed on a copy. The nightly review locks only the accounts this picks."""
        if account.tier_id is not None and account.below_tier_since is None:
            reached = tier_for_points(points=points, tiers=self.tiers) or self.tiers[0]
            if reached.pk == account.tier_id:
                return False
        copy = PointsAccount(
            member_id=account.member_id, tier_id=account.tier_id, tier_since=account.tier_since,
            below_tier_since=account.below_tier_since, tier_held_until=account.tier_held_until,
        )  # fmt: skip
        return self.review(copy, points=points) is not None or copy.below_tier_since != account.below_tier_since

    def hold(self, account: PointsAccount, *, tier: Tier, until: dt.datetime) -> TierChanged | None:
        """Put the account on ``tier`` (a tier brought from another programme) and keep it there until ``until``:
        the review lifts it if its points reach higher, and moves it down no earlier than that. In memory; the
        caller saves ``tier``, ``tier_since``, ``below_tier_since`` and ``tier_held_until``. A member already on a
        higher tier here keeps it (and no hold)."""
        previous = self.tier_of(account)
        if previous is not None and previous.threshold > tier.threshold:
            return None
        account.tier_held_until = max(until, account.tier_held_until or until)
        account.below_tier_since = None
        if previous is not None and previous.pk == tier.pk:
            return None
        account.tier, account.tier_since = tier, self.now
        up = previous is None or tier.threshold > previous.threshold
        return TierChanged(
            member_id=account.member_id, from_tier=previous, to_tier=tier, at=self.now, up=up, reason=self.reason
        )

    def review_many(self, accounts: Sequence[PointsAccount]) -> tuple[list[PointsAccount], list[TierChanged]]:
        """``review`` for many accounts (one query for their points): the accounts that changed, and the moves."""
        points = tier_points_many(member_ids=[account.member_id for account in accounts], start=self.start)
        touched, changes = [], []
        for account in accounts:
            below_before = account.below_tier_since
            change = self.review(account, points=points.get(account.member_id, 0))
            if change is not None:
                changes.append(change)
            if change is not None or account.below_tier_since != below_before:
                touched.append(account)
        return touched, changes
