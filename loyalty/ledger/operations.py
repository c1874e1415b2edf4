"""Points moved by people rather than orders: staff corrections, spending, bonuses."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from loyalty.errors import AdjustmentOverLimit, InvalidPoints, ReasonRequired
from loyalty.events import PointsChanged, emit
from loyalty.ledger.accounts import account_lock
from loyalty.ledger.entries import ledger_append
from loyalty.models import EntryKind, LedgerEntry, Programme
from members.audit import audit_record
from members.models import AuditAction, Member

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
        emit(PointsChanged(entry=entry, member_public_id=member.public_id))
        return entry


def points_redeem(
    *, member: Member, points: int, reason: str = "", detail: dict[str, Any] | None = None
) -> LedgerEntry:
    """Spend ``points`` (a positive number) from the member's balance; never below zero."""
    if not isinstance(points, int) or points <= 0:
        raise InvalidPoints()
    with transaction.atomic():
        account = account_lock(member=member)
        entry = ledger_append(
            account=account, kind=EntryKind.REDEEM, points=-points, reason=reason, detail=detail or {}
        )
        emit(PointsChanged(entry=entry, member_public_id=member.public_id))
        return entry


def points_bonus(*, member: Member, points: int, reason: str, detail: dict[str, Any] | None = None) -> LedgerEntry:
    """Give bonus points (a welcome bonus, a referral reward). They count towards the balance, not the tier."""
    if points <= 0:
        raise InvalidPoints()
    with transaction.atomic():
        account = account_lock(member=member)
        entry = ledger_append(account=account, kind=EntryKind.BONUS, points=points, reason=reason, detail=detail or {})
        emit(PointsChanged(entry=entry, member_public_id=member.public_id))
        return entry
