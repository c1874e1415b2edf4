"""Points moved by people rather than orders: staff corrections, spending, bonuses."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, Sum
from django.db.models.functions import Abs
from django.utils import timezone
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

    Staff without ``adjust_points_unlimited`` (support) may move at most the programme's ``support_adjust_limit``
    points a day, added up over all their adjustments (up or down, any member) since midnight in the club's time
    zone; the refusal names who may do more. Every staff adjustment is in the audit trail.
    """
    if not reason.strip():
        raise ReasonRequired()
    limited = staff is not None and not staff.has_perm(ADJUST_UNLIMITED_PERMISSION)
    with transaction.atomic():
        if limited and isinstance(points, int):
            _daily_limit_check(staff=staff, points=points)
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


def _daily_limit_check(*, staff: Any, points: int) -> None:
    """Refuse an adjustment that would take ``staff`` over their daily limit. Locks their user row first, so two
    adjustments of theirs at once are counted one after the other (and before any account lock: one lock order)."""
    users = get_user_model().objects
    users.select_for_update().filter(pk=staff.pk).first()
    limit = Programme.load().support_adjust_limit
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    today = (
        LedgerEntry.objects.filter(staff=staff, kind=EntryKind.ADJUST, created_at__gte=midnight).aggregate(
            total=Sum(Abs("points"))
        )["total"]
        or 0
    )
    if today + abs(points) <= limit:
        return
    who = list(
        users.filter(is_active=True, is_staff=True)
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__codename="adjust_points_unlimited")
            | Q(groups__permissions__codename="adjust_points_unlimited")
        )
        .distinct()
        .order_by("email")
        .values_list("email", flat=True)[:3]
    )
    raise AdjustmentOverLimit(
        _(
            "You may adjust at most %(limit)s points a day and have %(left)s left today. "
            "Staff who may adjust more: %(who)s."
        )
        % {"limit": limit, "left": max(limit - today, 0), "who": ", ".join(who) or _("an administrator")}
    )


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
