"""Pending points: what orders earned within their return window becomes spendable once it has passed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from config.bulk import objects_insert
from loyalty.ledger.batch import BATCH, accounts_lock, accounts_save, member_batches
from loyalty.models import EntryKind, LedgerEntry, PointsLot


@dataclass(frozen=True)
class ConfirmResult:
    members: int = 0  # whose pending points became spendable
    points: int = 0
    # Members whose orders' tier points counted from now on (the programme waits for the window): the caller
    # lifts their tiers (``loyalty.tiers.pending_points_confirm``).
    tier_members: tuple[int, ...] = field(default_factory=tuple)


def points_confirm(*, now: dt.datetime | None = None, batch: int = BATCH) -> ConfirmResult:
    """Make spendable every pending lot whose day has come: the lot stops being pending and its member's
    ``pending`` drops by what it still holds (a refund in the window may have taken some or all of it). Where
    the lot held its order's tier points back, a ``confirm`` entry (no points) adds them, dated at the order.

    Set-based: batches of members in id order, one short transaction each that locks only that batch's accounts.
    Idempotent: a confirmed lot is no longer pending, so running it again (or twice at once) changes nothing more.
    """
    now = now or timezone.now()
    due = PointsLot.objects.filter(available_at__lte=now).order_by()
    members = points = 0
    tier_members: list[int] = []
    for member_ids in member_batches(due, batch=batch):
        with transaction.atomic():
            accounts = accounts_lock(member_ids=member_ids)
            lots = list(  # read again under the locks
                due.filter(member_id__in=member_ids).only(
                    "id", "member_id", "entry_id", "remaining", "earned_at", "tier_points_waiting"
                )
            )
            confirmed: dict[int, int] = {}
            for lot in lots:
                confirmed[lot.member_id] = confirmed.get(lot.member_id, 0) + lot.remaining
            entries = [
                LedgerEntry(
                    member_id=lot.member_id,
                    kind=EntryKind.CONFIRM,
                    points=0,
                    balance_after=accounts[lot.member_id].balance,
                    tier_points=lot.tier_points_waiting,
                    effective_at=lot.earned_at,
                    created_at=now,
                    corrects_id=lot.entry_id,
                    reason="Return window passed",
                    detail={"lot": lot.pk},
                )
                for lot in lots
                if lot.tier_points_waiting and lot.member_id in accounts
            ]
            objects_insert(entries)
            PointsLot.objects.filter(pk__in=[lot.pk for lot in lots]).update(available_at=None, tier_points_waiting=0)
            changed = []
            for member_id, total in confirmed.items():
                if total and (account := accounts.get(member_id)) is not None:
                    account.pending -= total
                    changed.append(account)
            accounts_save(changed, fields=["pending"])
            members += len(changed)
            points += sum(confirmed.values())
            tier_members += sorted({entry.member_id for entry in entries})
    return ConfirmResult(members=members, points=points, tier_members=tuple(tier_members))
