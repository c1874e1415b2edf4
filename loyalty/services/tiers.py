"""Tier placement. Orders only ever lift a member; downgrades belong to the periodic tier review."""

from __future__ import annotations

import datetime as dt

from dateutil.relativedelta import relativedelta
from django.db.models import Sum
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty.models import LedgerEntry, PointsAccount, Programme, Tier, WebhookEventType
from loyalty.services.webhooks import events_publish  # Outbound webhooks
from members.messaging import Outgoing, in_member_language, messages_queue
from members.models import MessageKind

# Every order places its member among the tiers; kept per process (config/snapshots.py).
_tiers = Snapshot(lambda: tuple(Tier.objects.order_by("threshold")), sources=[Tier])


def tiers_by_threshold() -> list[Tier]:
    """The tiers, lowest first, as this process last read them (at most seconds old). Do not change them."""
    return list(_tiers.get())


def entry_tier() -> Tier | None:
    """The lowest tier, where a new points account starts (``None`` while the programme has no tiers)."""
    return next(iter(_tiers.get()), None)


def tier_window_start(*, programme: Programme, now: dt.datetime | None = None) -> dt.datetime | None:
    """Where the rolling tier window starts, or ``None`` for a lifetime window."""
    if not programme.tier_window_months:
        return None
    return (now or timezone.now()) - relativedelta(months=programme.tier_window_months)


def tier_points(*, member_id: int, programme: Programme, now: dt.datetime | None = None) -> int:
    """Qualifying points earned in the programme's window (one aggregate query)."""
    entries = LedgerEntry.objects.filter(member_id=member_id)
    start = tier_window_start(programme=programme, now=now)
    if start is not None:
        entries = entries.filter(effective_at__gte=start)
    return entries.aggregate(total=Sum("tier_points"))["total"] or 0


def tier_for_points(*, points: int, tiers: list[Tier]) -> Tier | None:
    """The highest tier whose threshold ``points`` reaches; ``tiers`` sorted by threshold."""
    reached = None
    for tier in tiers:
        if tier.threshold <= points:
            reached = tier
    return reached


def tier_evaluate(*, account: PointsAccount, programme: Programme, tiers: list[Tier] | None = None) -> Tier | None:
    """Lift the locked account to the tier its qualifying points reach. Returns the new tier, if any.

    Never lowers a tier: spending, expiry and refunds wait for the tier review. ``tiers`` (by threshold) saves
    a query for a caller that read them before taking the lock.
    """
    tiers = tiers if tiers is not None else tiers_by_threshold()
    current_threshold = account.tier.threshold if account.tier else -1
    if all(tier.threshold <= current_threshold for tier in tiers):
        return None  # at the top already: nothing to count (the busiest members usually are)
    target = tier_for_points(points=tier_points(member_id=account.member_id, programme=programme), tiers=tiers)
    if target is None or target.threshold <= current_threshold:
        return None
    previous = account.tier
    account.tier = target
    account.tier_since = timezone.now()
    account.save(update_fields=["tier", "tier_since", "updated_at"])
    # --- Outbound webhooks: tier.changed, in this transaction (see loyalty/services/webhooks.py) ---
    events_publish(
        type=WebhookEventType.TIER_CHANGED,
        payload={
            "member_id": str(account.member.public_id),
            "from": previous.name if previous else None,
            "to": target.name,
        },
    )
    messages_queue(
        kind=MessageKind.TIER_UP,
        items=[tier_message(member_id=account.member_id, tier=target, since=account.tier_since)],
    )
    return target


def tier_message(*, member_id: int, tier: Tier, since: dt.datetime) -> Outgoing:
    """The tier-up or tier-down message's copy for one member; the key is the move (tier and when)."""
    return Outgoing(
        member_id=member_id,
        key=f"{member_id}:{tier.pk}:{since.isoformat()}",
        context={
            "tier": in_member_language(tier, "name"),
            "benefits": in_member_language(tier, "benefit_list", list),
        },
    )
