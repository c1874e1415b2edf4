"""Klubb's one event path: services ``emit`` what happened; webhooks, messages and history subscribe.

- ``bus``: ``emit`` and ``subscribe``.
- ``types``: the points engine's events (``PointsChanged``, ``PointsEarned``, ``OrderRecorded``,
  ``RefundRecorded``, ``TierChanged``, ...).
- ``outbox``: outgoing webhooks as a subscriber: an outbox row and a delivery per active subscription, none
  when no subscription wants the event.
- ``delivery``: sending a delivery, signed, under a lease, with backoff (``config.leases``), within a total deadline
  per attempt; a receiver that runs out of time is held back so it cannot tie up the workers.
- ``transport``: one HTTP POST under a total deadline (lookup, connect, TLS, sending, the whole answer).
- ``subscriptions``: staff's changes to subscriptions: generated secrets (shown once), rotation, stopping the
  pending deliveries of a switched-off subscription.
- ``subscribers``: which subscriber reacts to which event; installed by ``LoyaltyConfig.ready``.

Belongs here: the event types and the machinery that carries them. Not here: what a service decides (the
service's own package) or how a message reads (its kind's templates).
"""

from __future__ import annotations

from loyalty.events.bus import emit, subscribe
from loyalty.events.types import (
    MemberEnrolled,
    OrderRecorded,
    PointsChanged,
    PointsEarned,
    RefundRecorded,
    RewardRedeemed,
    TierChanged,
)

__all__ = [
    "MemberEnrolled",
    "OrderRecorded",
    "PointsChanged",
    "PointsEarned",
    "RefundRecorded",
    "RewardRedeemed",
    "TierChanged",
    "emit",
    "subscribe",
]
