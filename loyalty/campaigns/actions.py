"""Points for actions besides buying: sign-up, a completed profile, and events shops report (a review).

Each ``PointsAction`` has its own points and limit (times per member, over all time or a window of days).
Every occurrence is an ``ActionAward`` row, unique per action and member for built-in actions and per shop
and idempotency key for shop events, so nothing is ever counted twice. An occurrence over the limit is
recorded with 0 points. The birthday bonus is the programme's setting, given by the nightly birthday job
(``loyalty.campaigns.birthdays``), once a year per member.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from loyalty.errors import UnknownEventType
from loyalty.events import PointsChanged, emit
from loyalty.idempotency import IdempotencyKey, idempotent
from loyalty.ledger import account_lock, ledger_append
from loyalty.models import ActionAward, ActionKind, EntryKind, OrderSource, PointsAction, Shop
from loyalty.shops import MemberRef, member_resolve
from members.models import Member

# A member's profile is complete with these filled in (and at least one interest).
PROFILE_FIELDS = ("first_name", "last_name", "phone", "birthday")


@dataclass(frozen=True)
class ActionOutcome:
    """What recording an event gave; stored on the award, so a replay returns the same."""

    event_id: str
    type: str
    member_id: str
    points_awarded: int
    limited: bool  # the action's limit for this member was reached: no points
    balance: int

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class ActionResult:
    award: ActionAward
    created: bool
    outcome: ActionOutcome


def action_points_give(*, member: Member, kind: str) -> ActionAward | None:
    """Give the points of the built-in action ``kind`` (sign-up, completed profile) once per member.

    Returns ``None`` when no such action is switched on, or the member already had it.
    """
    action = PointsAction.objects.filter(kind=kind, is_active=True).first()
    if action is None:
        return None
    try:
        with transaction.atomic():
            account = account_lock(member=member)
            if ActionAward.objects.filter(action=action, member=member, key=kind, shop__isnull=True).exists():
                return None
            return _award(action=action, account=account, member=member, key=kind, shop=None, fingerprint="")
    except IntegrityError:
        return None


def profile_is_complete(*, member: Member) -> bool:
    values = {"first_name": member.user.first_name, "last_name": member.user.last_name}
    values.update(phone=member.phone, birthday=member.birthday)
    return all(values[name] for name in PROFILE_FIELDS) and member.interests.exists()


def member_joined_points(*, member: Member) -> ActionAward | None:
    return action_points_give(member=member, kind=ActionKind.SIGNUP)


def profile_saved_points(*, member: Member) -> ActionAward | None:
    if not profile_is_complete(member=member):
        return None
    return action_points_give(member=member, kind=ActionKind.PROFILE_COMPLETED)


def event_record(
    *, shop: Shop, event_type: str, key: str, member: MemberRef, occurred_at: dt.datetime | None, data: dict[str, Any]
) -> ActionResult:
    """Record an event a shop reports (``product_review``) and give its action's points within its limits.

    Idempotent by ``(shop, key)``: the same event again returns the first result; the same key with other
    data raises ``IdempotencyConflict``.
    """
    idempotency = IdempotencyKey(
        find=lambda: ActionAward.objects.filter(shop=shop, key=key).first(),
        fingerprint=_fingerprint(event_type=event_type, member=member, occurred_at=occurred_at, data=data),
        subject=f"Event {key}",
        field="idempotency_key",
    )

    def record() -> ActionResult:
        action = PointsAction.objects.filter(kind=ActionKind.EVENT, event_type=event_type, is_active=True).first()
        if action is None:
            raise UnknownEventType()
        with transaction.atomic():
            found, _created = member_resolve(shop=shop, ref=member, enrol=False, source=OrderSource.API)
            account = account_lock(member=found)
            if (existing := idempotency.prior()) is not None:  # recorded while this one waited for the lock
                return _replay(existing)
            award = _award(
                action=action, account=account, member=found, key=key, shop=shop, fingerprint=idempotency.fingerprint
            )
        return ActionResult(award=award, created=True, outcome=ActionOutcome(**award.response))

    return idempotent(key=idempotency, record=record, replay=_replay)


def _award(
    *, action: PointsAction, account: Any, member: Member, key: str, shop: Shop | None, fingerprint: str
) -> ActionAward:
    """Under the member's account lock: count the limit, append the entry, write the award."""
    now = timezone.now()
    given = ActionAward.objects.filter(action=action, member=member, points__gt=0)
    if action.limit_days:
        given = given.filter(created_at__gte=now - dt.timedelta(days=action.limit_days))
    limited = action.limit_per_member is not None and given.count() >= action.limit_per_member
    points = 0 if limited else action.points
    entry = None
    if points:
        entry = ledger_append(
            account=account,
            kind=EntryKind.BONUS,
            points=points,
            reason=str(action.name),
            detail={"action": action.kind, "event_type": action.event_type, "key": key},
        )
        emit(PointsChanged(entry=entry, member_public_id=member.public_id))
    award = ActionAward.objects.create(
        action=action,
        member=member,
        shop=shop,
        key=key,
        fingerprint=fingerprint,
        points=points,
        entry=entry,
        created_at=now,
        response=ActionOutcome(
            event_id=key,
            type=action.event_type or action.kind,
            member_id=str(member.public_id),
            points_awarded=points,
            limited=limited,
            balance=account.balance,
        ).as_data(),
    )
    return award


def _replay(existing: ActionAward) -> ActionResult:
    return ActionResult(award=existing, created=False, outcome=ActionOutcome(**existing.response))


def _fingerprint(*, event_type: str, member: MemberRef, occurred_at: dt.datetime | None, data: dict[str, Any]) -> str:
    canonical = {
        "type": event_type,
        "member": member.identity(),
        "occurred_at": occurred_at.astimezone(dt.UTC).isoformat() if occurred_at else None,
        "data": data,
    }
    return hashlib.sha256(json.dumps(canonical, sort_keys=True, default=str).encode()).hexdigest()
