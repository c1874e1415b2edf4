"""Placing members on tiers: an order lifts its member at once (or, where the programme waits, once the order's
points are confirmed); the nightly review moves everyone.

Both apply ``TierRule`` and return the moves they made as ``TierChanged`` events; the caller emits them.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from loyalty.events import TierChanged, emit
from loyalty.ledger import (
    BATCH,
    ConfirmResult,
    accounts_lock,
    accounts_save,
    member_batches,
    points_confirm,
    tiers_by_threshold,
)
from loyalty.models import PointsAccount, Programme, Tier, TierChangeReason
from loyalty.tiers.rules import TierRule, tier_points_many, tier_points_since


def tier_evaluate(
    *,
    account: PointsAccount,
    programme: Programme,
    tiers: list[Tier] | None = None,
    reason: str = TierChangeReason.ORDER,
    incoming_tier_points: int = 0,
    incoming_at: dt.datetime | None = None,
) -> TierChanged | None:
    """Lift the locked account to the tier its qualifying points reach, and save it. Returns the move, if any,
    for the caller to emit with the rest of what it did.

    Never lowers a tier: spending, expiry and refunds wait for the tier review. ``tiers`` (by threshold) saves
    a query for a caller that read them before taking the lock. ``incoming_tier_points`` are those of an entry
    effective ``incoming_at`` that the caller writes next in this transaction, counted as if written: an order
    knows its member's tier (and so its whole answer) before it inserts anything.
    """
    rule = TierRule.for_programme(programme=programme, reason=reason, tiers=tiers)
    if rule.at_top(account):
        return None  # nothing to count (the busiest members usually are at the top)
    points = tier_points_since(member_id=account.member_id, start=rule.start)
    if incoming_tier_points and (rule.start is None or (incoming_at is not None and incoming_at >= rule.start)):
        points += incoming_tier_points
    change = rule.lift(account, points=points)
    if change is not None:
        account.save(update_fields=["tier", "tier_since", "below_tier_since", "updated_at"])
    return change


def tier_review(*, now: dt.datetime | None = None, batch: int = BATCH) -> list[TierChanged]:
    """Place every member on the tier their points in the rolling window reach (``TierRule.review``).

    Most members stay where they are, so each batch is first decided from a plain read (``TierRule.may_move``,
    on rows, not models: a million members a night); only the accounts that would change are then locked and
    decided again from fresh figures (an order may have come in between and moved them already).
    """
    tiers = tiers_by_threshold()
    if not tiers:
        return []
    rule = TierRule.for_programme(programme=Programme.load(), reason=TierChangeReason.REVIEW, now=now, tiers=tiers)
    changes: list[TierChanged] = []
    for member_ids in member_batches(PointsAccount.objects.all(), batch=batch):
        points = tier_points_many(member_ids=member_ids, start=rule.start)
        rows = PointsAccount.objects.filter(member_id__in=member_ids).values_list(
            "member_id", "tier_id", "tier_since", "below_tier_since", "tier_held_until", named=True
        )
        candidates = [row.member_id for row in rows if rule.may_move(row, points=points.get(row.member_id, 0))]
        if not candidates:
            continue
        with transaction.atomic():
            accounts = accounts_lock(member_ids=candidates)
            touched, batch_changes = rule.review_many(list(accounts.values()))
            accounts_save(touched, fields=["tier", "tier_since", "below_tier_since"])
            emit(*batch_changes)
            changes.extend(batch_changes)
    return changes


def pending_points_confirm(*, now: dt.datetime | None = None, batch: int = BATCH) -> ConfirmResult:
    """The scheduled job: pending points whose return window has passed become spendable (``points_confirm``),
    and members whose orders' tier points counted only from then are lifted to the tier those points reach."""
    result = points_confirm(now=now, batch=batch)
    tiers = tiers_by_threshold()
    if not result.tier_members or not tiers:
        return result
    rule = TierRule.for_programme(programme=Programme.load(), reason=TierChangeReason.ORDER, now=now, tiers=tiers)
    for start in range(0, len(result.tier_members), batch):
        with transaction.atomic():
            accounts = accounts_lock(member_ids=result.tier_members[start : start + batch])
            totals = tier_points_many(member_ids=list(accounts), start=rule.start)
            changes = [
                change
                for account in accounts.values()
                if (change := rule.lift(account, points=totals.get(account.member_id, 0))) is not None
            ]
            lifted = [
                account for account in accounts.values() if any(c.member_id == account.member_id for c in changes)
            ]
            accounts_save(lifted, fields=["tier", "tier_since", "below_tier_since"])
            emit(*changes)
    return result
