"""The only code that appends ledger entries and moves balances.

Every function here runs inside the caller's transaction with the member's ``PointsAccount``
row locked (``account_lock``), so the balance and the entry change together or not at all, and
concurrent writers for one member queue up on that row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import AdjustmentOverLimit, InsufficientPoints, InvalidPoints, ReasonRequired
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, PointsLot, Programme, WebhookEventType
from loyalty.services.tiers import entry_tier
from loyalty.services.webhooks import events_publish, points_changed_payload  # Outbound webhooks
from members.audit import audit_record
from members.models import AuditAction, Member


def account_lock(*, member: Member | int) -> PointsAccount:
    """Return the member's points account, locked for update until the transaction ends.

    Creates the account (at the entry tier) the first time. Must be called inside ``atomic``. Given the
    member itself (not its id), the account carries that instance instead of reading the member again.
    """
    member_id = member if isinstance(member, int) else member.pk
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("account_lock() must run inside transaction.atomic().")
    related = ("tier",) if isinstance(member, Member) else ("tier", "member")
    locked = PointsAccount.objects.select_for_update(of=("self",)).select_related(*related)
    account = locked.filter(member_id=member_id).first()
    if account is None:  # the member's first points: open the account (another writer may be doing the same)
        PointsAccount.objects.bulk_create(
            [PointsAccount(member_id=member_id, tier=entry_tier(), tier_since=timezone.now())], ignore_conflicts=True
        )
        account = locked.get(member_id=member_id)
    if isinstance(member, Member):
        account.member = member
    return account


def ledger_append(
    *,
    account: PointsAccount,
    kind: str,
    points: int,
    tier_points: int = 0,
    allow_negative: bool = False,
    effective_at: dt.datetime | None = None,
    programme: Programme | None = None,
    **source: Any,
) -> LedgerEntry:
    """Append one entry and move the locked account's balance by ``points``.

    A debit that would take the balance below zero raises ``InsufficientPoints`` unless
    ``allow_negative`` (only clawbacks of points already spent may do that).
    """
    if not isinstance(points, int) or isinstance(points, bool) or points == 0:
        raise InvalidPoints()
    balance_before = account.balance
    new_balance = balance_before + points
    if points < 0 and new_balance < 0 and not allow_negative:
        raise InsufficientPoints()
    if points < 0:
        # Spend the oldest points first, and say which lots paid for this entry.
        lots = _lots_spend(member_id=account.member_id, points=-points)
        source["detail"] = {**(source.get("detail") or {}), "lots": lots}
    account.balance = new_balance
    account.save(update_fields=["balance", "updated_at"])
    now = timezone.now()
    entry = LedgerEntry.objects.create(
        member_id=account.member_id,
        kind=kind,
        points=points,
        balance_after=new_balance,
        tier_points=tier_points,
        effective_at=effective_at or now,
        created_at=now,
        **source,
    )
    if points > 0:
        _lot_open(entry=entry, balance_before=balance_before, programme=programme or Programme.load())
    # --- Outbound webhooks: points.changed, in this transaction (see loyalty/services/webhooks.py) ---
    events_publish(
        type=WebhookEventType.POINTS_CHANGED,
        payload=points_changed_payload(member_public_id=account.member.public_id, entry=entry),
    )
    return entry


ADJUST_UNLIMITED_PERMISSION = "loyalty.adjust_points_unlimited"


def points_adjust(
    *, member: Member, points: int, staff: Any, reason: str, corrects: LedgerEntry | None = None
) -> LedgerEntry:
    """A staff correction: an ``adjust`` entry with who did it and why. Cannot take a balance below zero.

    Staff without ``adjust_points_unlimited`` (support) may move at most the programme's
    ``support_adjust_limit`` points at once. Every staff adjustment is in the audit trail.
    """
    if not reason.strip():
        raise ReasonRequired()
    if staff is not None and not staff.has_perm(ADJUST_UNLIMITED_PERMISSION):
        limit = Programme.load().support_adjust_limit
        if isinstance(points, int) and abs(points) > limit:
            raise AdjustmentOverLimit(
                _("You may adjust at most %(limit)s points at once; ask a programme manager.") % {"limit": limit}
            )
    with transaction.atomic():
        account = account_lock(member=member)
        entry = ledger_append(
            account=account,
            kind=EntryKind.ADJUST,
            points=points,
            staff=staff,
            reason=reason.strip(),
            corrects=corrects,
        )
        if staff is not None:
            audit_record(
                staff=staff,
                action=AuditAction.ADJUST,
                obj=member,
                before={"balance": entry.balance_after - entry.points},
                after={"balance": entry.balance_after},
                note=entry.reason,
            )
        return entry


def points_redeem(
    *, member: Member, points: int, reason: str = "", detail: dict[str, Any] | None = None
) -> LedgerEntry:
    """Spend ``points`` (a positive number) from the member's balance; never below zero."""
    if not isinstance(points, int) or points <= 0:
        raise InvalidPoints()
    with transaction.atomic():
        account = account_lock(member=member)
        return ledger_append(account=account, kind=EntryKind.REDEEM, points=-points, reason=reason, detail=detail or {})


def points_bonus(*, member: Member, points: int, reason: str, detail: dict[str, Any] | None = None) -> LedgerEntry:
    """Give bonus points (a welcome bonus, a referral reward). They count towards the balance, not the tier."""
    if points <= 0:
        raise InvalidPoints()
    with transaction.atomic():
        account = account_lock(member=member)
        return ledger_append(account=account, kind=EntryKind.BONUS, points=points, reason=reason, detail=detail or {})


def lot_terms(
    *, points: int, balance_before: int, earned_at: dt.datetime, programme: Programme
) -> tuple[int, dt.datetime | None]:
    """What the lot a credit of ``points`` opens holds, and when it expires. A clawback may have left the
    balance below zero: the credit pays that debt first. Every writer of lots, one or many, asks here."""
    months = programme.points_expire_months
    remaining = max(0, points - max(0, -balance_before))
    return remaining, earned_at + relativedelta(months=months) if months else None


def _lot_open(*, entry: LedgerEntry, balance_before: int, programme: Programme) -> PointsLot:
    remaining, expires_at = lot_terms(
        points=entry.points, balance_before=balance_before, earned_at=entry.effective_at, programme=programme
    )
    return PointsLot.objects.create(
        member_id=entry.member_id, entry=entry, points=entry.points, remaining=remaining,
        earned_at=entry.effective_at, expires_at=expires_at,
    )  # fmt: skip


def lots_open_many(*, entries: Sequence[LedgerEntry], programme: Programme) -> None:
    """The lots of many saved credit entries (a batch job's), each paying its member's debt first."""
    lots = []
    for entry in entries:
        remaining, expires_at = lot_terms(
            points=entry.points, balance_before=entry.balance_after - entry.points, earned_at=entry.effective_at,
            programme=programme,
        )  # fmt: skip
        lots.append(PointsLot(member_id=entry.member_id, entry=entry, points=entry.points, remaining=remaining,
                              earned_at=entry.effective_at, expires_at=expires_at))  # fmt: skip
    PointsLot.objects.bulk_create(lots)


def _lots_spend(*, member_id: int, points: int) -> list[list[int]]:
    """Take ``points`` from the member's open lots, oldest first; returns ``[[lot id, points taken], ...]``.

    Runs under the account lock. A clawback may ask for more than the lots hold (the balance goes below
    zero): the lots are emptied and the rest is a debt that the next credit pays first.
    """
    taken: list[list[int]] = []
    changed: list[PointsLot] = []
    for lot in PointsLot.objects.filter(member_id=member_id, remaining__gt=0).order_by("earned_at", "id").iterator():
        take = min(lot.remaining, points)
        lot.remaining -= take
        points -= take
        taken.append([lot.pk, take])
        changed.append(lot)
        if points == 0:
            break
    PointsLot.objects.bulk_update(changed, ["remaining"])
    return taken


def accounts_lock(*, member_ids: Sequence[int], create: bool = False) -> dict[int, PointsAccount]:
    """Many members' accounts (with their tier), locked in member order as every writer locks them: a batch
    job's. ``create``: first make the missing ones, at the entry tier (members who never earned have none)."""
    if create:
        have = set(PointsAccount.objects.filter(member_id__in=member_ids).values_list("member_id", flat=True))
        if missing := [member_id for member_id in member_ids if member_id not in have]:
            tier, now = entry_tier(), timezone.now()
            PointsAccount.objects.bulk_create(
                [PointsAccount(member_id=member_id, tier=tier, tier_since=now) for member_id in missing],
                ignore_conflicts=True,  # made meanwhile by an order for the same member: that one stands
            )
    accounts = PointsAccount.objects.select_for_update(of=("self",)).select_related("tier")
    return {account.member_id: account for account in accounts.filter(member_id__in=member_ids).order_by("member_id")}


# Account fields a batch job writes, and their PostgreSQL types (for the VALUES list of ``accounts_save``).
_ACCOUNT_COLUMN_TYPES = {"balance": "bigint", "tier": "bigint", "tier_since": "timestamptz",
                         "below_tier_since": "timestamptz"}  # fmt: skip


def accounts_save(accounts: Sequence[PointsAccount], *, fields: Sequence[str]) -> None:
    """Write ``fields`` of many locked accounts (a batch job's). On PostgreSQL one ``UPDATE ... FROM (VALUES
    ...)``: ``bulk_update`` builds and resolves a ``CASE`` per row and field, slow for thousands."""
    if not accounts:
        return
    if connection.vendor != "postgresql":
        PointsAccount.objects.bulk_update(accounts, fields)
        return
    columns = [PointsAccount._meta.get_field(name).column for name in fields]
    row = ", ".join(["%s::bigint", *(f"%s::{_ACCOUNT_COLUMN_TYPES[name]}" for name in fields)])
    params = [value for a in accounts for value in (a.member_id, *(getattr(a, c) for c in columns))]
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE loyalty_pointsaccount AS a SET {assignments}, updated_at = %s "
            f"FROM (VALUES {', '.join([f'({row})'] * len(accounts))}) AS v(member_id, {', '.join(columns)}) "
            "WHERE a.member_id = v.member_id",
            [timezone.now(), *params],
        )
