"""Who reacts to the points engine's events: outgoing webhooks, member messages and history.

``subscribers_install`` (run by ``LoyaltyConfig.ready``) wires them; other apps subscribe to these events, or
emit their own, from their own ``AppConfig.ready``. Each subscriber takes every event of its type from one
``emit`` at once, reads what it needs in one query, and writes in one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from loyalty.events.bus import subscribe
from loyalty.events.outbox import points_changed_payload, subscriptions_to, webhooks_publish
from loyalty.events.types import MemberEnrolled, PointsChanged, PointsEarned, RewardRedeemed, TierChanged
from loyalty.messages import LoyaltyMessage
from loyalty.models import Tier, TierChange, WebhookEventType
from members.messaging import Outgoing, in_member_language, messages_queue
from members.models import Member


def _public_ids(member_ids: Sequence[int]) -> dict[int, object]:
    return dict(Member.objects.filter(pk__in=member_ids).values_list("pk", "public_id")) if member_ids else {}


# --- Outgoing webhooks --------------------------------------------------------------------------------------


def points_changed_webhooks(events: Sequence[PointsChanged]) -> None:
    if not subscriptions_to(WebhookEventType.POINTS_CHANGED):
        return
    public_ids = _public_ids([e.entry.member_id for e in events if e.member_public_id is None])
    webhooks_publish(
        type=WebhookEventType.POINTS_CHANGED,
        payloads=[
            points_changed_payload(member_public_id=e.member_public_id or public_ids[e.entry.member_id], entry=e.entry)
            for e in events
        ],
        members=[{e.entry.member_id} for e in events],
    )


def tier_changed_webhooks(events: Sequence[TierChanged]) -> None:
    events = [e for e in events if e.notify]
    if not events or not subscriptions_to(WebhookEventType.TIER_CHANGED):
        return
    public_ids = _public_ids([e.member_id for e in events if e.member_public_id is None])
    webhooks_publish(
        type=WebhookEventType.TIER_CHANGED,
        payloads=[
            {
                "member_id": str(e.member_public_id or public_ids[e.member_id]),
                "from": e.from_tier.name if e.from_tier else None,
                "to": e.to_tier.name,
            }
            for e in events
        ],
        members=[{e.member_id} for e in events],
    )


def member_enrolled_webhooks(events: Sequence[MemberEnrolled]) -> None:
    """The enrolling shop has the new member as its customer already: its own subscriptions hear of it."""
    webhooks_publish(
        type=WebhookEventType.MEMBER_ENROLLED,
        payloads=[{"member_id": str(e.member.public_id), "shop": e.shop.slug, "source": str(e.source)} for e in events],
        members=[{e.member.pk} for e in events],
    )


def reward_redeemed_webhooks(events: Sequence[RewardRedeemed]) -> None:
    webhooks_publish(
        type=WebhookEventType.REWARD_REDEEMED,
        payloads=[
            {
                "member_id": str(e.member.public_id),
                "reward_id": e.reward.pk,
                "reward": e.reward.name,
                "voucher_code": e.voucher.code,
                "points": e.reward.points_cost,
            }
            for e in events
        ],
        members=[{e.member.pk} for e in events],
    )


# --- Member messages ----------------------------------------------------------------------------------------


def points_earned_messages(events: Sequence[PointsEarned]) -> None:
    messages_queue(
        members=[e.member for e in events],
        kind=LoyaltyMessage.POINTS_EARNED,
        items=[
            Outgoing(
                member_id=e.member.pk,
                key=str(e.order.pk),
                context={"points": e.points, "balance": e.balance, "order": e.order.external_id, "shop": e.shop.name},
            )
            for e in events
        ],
    )


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


def tier_changed_messages(events: Sequence[TierChanged]) -> None:
    for up, kind in ((True, LoyaltyMessage.TIER_UP), (False, LoyaltyMessage.TIER_DOWN)):
        moves = [e for e in events if e.up is up and e.notify]
        if moves:
            messages_queue(
                kind=kind,
                items=[tier_message(member_id=e.member_id, tier=e.to_tier, since=e.at) for e in moves],
                now=moves[0].at,
            )


def reward_redeemed_messages(events: Sequence[RewardRedeemed]) -> None:
    messages_queue(
        members=[e.member for e in events],
        kind=LoyaltyMessage.REWARD_REDEEMED,
        items=[
            Outgoing(
                member_id=e.member.pk,
                key=str(e.voucher.pk),
                context={
                    "reward": in_member_language(e.reward, "name"),
                    "code": e.voucher.code,
                    "how_to_use": in_member_language(e.reward, "how_to_use"),
                },
            )
            for e in events
        ],
    )


# --- History ------------------------------------------------------------------------------------------------


def tier_changes_record(events: Sequence[TierChanged]) -> None:
    TierChange.objects.bulk_create(
        [
            TierChange(
                member_id=e.member_id,
                from_tier=e.from_tier,
                to_tier=e.to_tier,
                up=e.up,
                reason=e.reason,
                changed_at=e.at,
            )
            for e in events
        ]
    )


def subscribers_install() -> None:
    """Wire the points engine's own subscribers (idempotent)."""
    subscribe(PointsChanged, points_changed_webhooks)
    subscribe(PointsEarned, points_earned_messages)
    subscribe(TierChanged, tier_changes_record)
    subscribe(TierChanged, tier_changed_webhooks)
    subscribe(TierChanged, tier_changed_messages)
    subscribe(MemberEnrolled, member_enrolled_webhooks)
    subscribe(RewardRedeemed, reward_redeemed_webhooks)
    subscribe(RewardRedeemed, reward_redeemed_messages)
