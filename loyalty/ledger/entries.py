"""Appending one entry: the only code that writes a ledger entry, its points lots and the balance it moves.

Runs inside the caller's transaction with the member's ``PointsAccount`` row locked (``account_lock``), so the
balance and the entry change together or not at all, and concurrent writers for one member queue up on that
row. The batch writer (``loyalty.ledger.batch``) applies the same rules to many members at once.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from dateutil.relativedelta import relativedelta
from django.utils import timezone

from loyalty.errors import InsufficientPoints, InvalidPoints
from loyalty.ledger.writes import entry_write
from loyalty.models import LedgerEntry, PointsAccount, PointsLot, Programme


def ledger_append(
    *,
    account: PointsAccount,
    kind: str,
    points: int,
    tier_points: int = 0,
    allow_negative: bool = False,
    effective_at: dt.datetime | None = None,
    programme: Programme | None = None,
    restores: LedgerEntry | None = None,
    available_at: dt.datetime | None = None,
    tier_points_waiting: int = 0,
    **source: Any,
) -> LedgerEntry:
    """Append one entry and move the locked account's balance by ``points``.

    A debit that would take the balance below zero raises ``InsufficientPoints`` unless
    ``allow_negative`` (only clawbacks of points already spent may do that). A credit that gives back
    (some of) the debit ``restores`` puts the points back into the lots that debit took them from, so they
    keep their expiry date; what those lots cannot take back (they expired since) opens a lot of its own.
    A credit ``available_at`` a later time is pending until then: in the balance, not spendable (``pending``).
    A debit spends only what is not pending, except a clawback, which takes its order's own points first,
    pending or not. ``tier_points_waiting`` of a pending credit count towards tiers only once the points are
    spendable (the confirmation job adds them then); a clawback of its order takes its tier points from them first.
    Reports nothing: the service that called it emits ``PointsChanged`` with the rest of what it did.
    """
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidPoints()
    balance_before = account.balance
    new_balance = balance_before + points
    if points < 0 and new_balance < account.pending and not allow_negative:
        raise InsufficientPoints()
    now = timezone.now()
    fresh = 0  # points of a restoring credit that open a lot of their own
    if restores is not None:
        if points <= 0:
            raise InvalidPoints()
        # A debt a clawback left is paid first; the rest goes back where the debit took it from.
        given, fresh = _lots_restore(debit=restores, points=max(0, points - max(0, -balance_before)), now=now)
        source["corrects"] = restores
        source["detail"] = {**(source.get("detail") or {}), "lots": given}
    if points < 0:
        # Spend the oldest points first (a clawback its order's pending ones first); say which lots paid for it.
        order = source.get("order") if allow_negative else None
        lots, pending_taken = _lots_spend(member_id=account.member_id, points=-points, order=order)
        source["detail"] = {**(source.get("detail") or {}), "lots": lots}
        account.pending -= pending_taken
    pending = available_at is not None and available_at > now and points > 0 and restores is None
    if pending:
        account.pending += max(0, points - max(0, -balance_before))  # what the lot will hold
    elif tier_points_waiting:
        tier_points += tier_points_waiting  # nothing to wait for
        tier_points_waiting = 0
    if tier_points < 0 and allow_negative and source.get("order") is not None:
        tier_points += _tier_points_unwait(order=source["order"], points=-tier_points)
    account.balance = new_balance
    entry = LedgerEntry(
        member_id=account.member_id,
        kind=kind,
        points=points,
        balance_after=new_balance,
        tier_points=tier_points,
        effective_at=effective_at or now,
        created_at=now,
        **source,
    )
    lot: PointsLot | None = None
    if fresh:  # the lots the points came from have expired since: they start afresh
        _remaining, expires_at = lot_terms(
            points=fresh, balance_before=0, earned_at=now, programme=programme or Programme.load()
        )
        lot = PointsLot(
            member_id=account.member_id, points=fresh, remaining=fresh, earned_at=now, expires_at=expires_at
        )
    elif points > 0 and restores is None:
        lot = _lot_for(
            entry=entry,
            balance_before=balance_before,
            programme=programme or Programme.load(),
            available_at=available_at if pending else None,
            tier_points_waiting=tier_points_waiting,
        )
    entry_write(account=account, entry=entry, lot=lot)
    return entry


def lot_terms(
    *, points: int, balance_before: int, earned_at: dt.datetime, programme: Programme
) -> tuple[int, dt.datetime | None]:
    """What the lot a credit of ``points`` opens holds, and when it expires. A clawback may have left the
    balance below zero: the credit pays that debt first. Every writer of lots, one or many, asks here."""
    months = programme.points_expire_months
    remaining = max(0, points - max(0, -balance_before))
    return remaining, earned_at + _months(months) if months else None


@functools.cache
def _months(months: int) -> relativedelta:
    return relativedelta(months=months)  # made once: an import opens a lot for each of a million orders


def _lot_for(
    *,
    entry: LedgerEntry,
    balance_before: int,
    programme: Programme,
    available_at: dt.datetime | None = None,
    tier_points_waiting: int = 0,
) -> PointsLot:
    """The (unsaved) lot a credit ``entry`` opens."""
    remaining, expires_at = lot_terms(
        points=entry.points, balance_before=balance_before, earned_at=entry.effective_at, programme=programme
    )
    return PointsLot(
        member_id=entry.member_id, points=entry.points, remaining=remaining, earned_at=entry.effective_at,
        expires_at=expires_at, available_at=available_at, tier_points_waiting=tier_points_waiting,
    )  # fmt: skip


def _tier_points_unwait(*, order: Any, points: int) -> int:
    """A clawback of ``points`` tier points of ``order``: take them first from what its lots still hold back
    from tiers (never counted, so never to be taken from the tier sum); returns how many that was."""
    taken = 0
    for lot in PointsLot.objects.filter(entry__order=order, tier_points_waiting__gt=0).order_by("pk"):
        take = min(lot.tier_points_waiting, points - taken)
        lot.tier_points_waiting -= take
        lot.save(update_fields=["tier_points_waiting"])
        taken += take
        if taken == points:
            break
    return taken


def _lots_restore(*, debit: LedgerEntry, points: int, now: dt.datetime) -> tuple[list[list[int]], int]:
    """Put ``points`` back into the unexpired lots ``debit`` spent, newest first, each up to what ``debit`` took
    from it less what earlier credits correcting it gave back. Returns ``[[lot id, points given], ...]`` and
    what did not fit. Runs under the account lock."""
    owed: dict[int, int] = dict((debit.detail or {}).get("lots") or [])
    for earlier in LedgerEntry.objects.filter(corrects=debit).values_list("detail", flat=True):
        for lot_id, back in (earlier or {}).get("lots") or []:
            owed[lot_id] = owed.get(lot_id, 0) - back
    lots = PointsLot.objects.filter(pk__in=[pk for pk, n in owed.items() if n > 0]).exclude(expires_at__lte=now)
    given: list[list[int]] = []
    changed: list[PointsLot] = []
    for lot in lots.order_by("-earned_at", "-id"):
        if points == 0:
            break
        give = min(points, owed[lot.pk], lot.points - lot.remaining)
        if give:
            lot.remaining += give
            points -= give
            given.append([lot.pk, give])
            changed.append(lot)
    PointsLot.objects.bulk_update(changed, ["remaining"])
    return given, points


def _lots_spend(*, member_id: int, points: int, order: Any = None) -> tuple[list[list[int]], int]:
    """Take ``points`` from the member's open lots; returns ``[[lot id, points taken], ...]`` and how many of
    them were pending.

    Runs under the account lock. A clawback's order's own pending lots first, then the spendable lots oldest
    first, then the pending ones. A clawback may ask for more than the lots hold (the balance goes below
    zero): the lots are emptied and the rest is a debt that the next credit pays first.
    """
    taken: list[list[int]] = []
    changed: list[PointsLot] = []
    pending_taken = 0
    open_lots = PointsLot.objects.filter(member_id=member_id, remaining__gt=0)
    queues = [
        # A clawback takes its order's pending points first: they are the ones its refund cancels.
        open_lots.filter(entry__order=order, available_at__isnull=False).order_by("earned_at", "id")
        if order is not None
        else None,
        open_lots.filter(available_at__isnull=True).order_by("earned_at", "id"),
        open_lots.filter(available_at__isnull=False).order_by("earned_at", "id"),
    ]
    seen: set[int] = set()
    for queue in queues:
        if queue is None or points == 0:
            continue
        for lot in queue.iterator():
            if lot.pk in seen:
                continue
            seen.add(lot.pk)
            take = min(lot.remaining, points)
            lot.remaining -= take
            points -= take
            if lot.available_at is not None:
                pending_taken += take
            taken.append([lot.pk, take])
            changed.append(lot)
            if points == 0:
                break
    PointsLot.objects.bulk_update(changed, ["remaining"])
    return taken, pending_taken
