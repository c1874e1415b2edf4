"""Outbound webhooks: club events written to an outbox and delivered, signed, to shops' endpoints.

``webhooks_publish`` runs inside the transaction of the change it reports (called by the subscribers in
``loyalty.events.subscribers``), so an event exists exactly when its change does, and only when an active
subscription wants it. Delivery happens after commit (``loyalty.tasks.deliver_webhook``) and is
retried with exponential backoff for up to ``WEBHOOK_RETRY_WINDOW`` after the event; a periodic
sweep (``loyalty.tasks.webhooks_retry_due``) re-enqueues due deliveries so a lost task loses nothing.

Who receives an event: an active subscription to its type, when every member the event names is the
subscription's shop's customer (``loyalty.models.customers``: the rule the shop API follows too), or when staff
made the subscription club-wide. Payloads carry ids (the member's public UUID), never names, emails or phones.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from functools import partial
from typing import Any

from django.db import transaction

from config.snapshots import Snapshot
from loyalty.models import (
    OutboxEvent,
    WebhookDelivery,
    WebhookSubscription,
    customer_pairs,
)

# Every change that publishes an event looks the subscribers up; kept per process (config/snapshots.py), so a
# new or switched-off subscription takes effect within seconds (sending reads its URL and secret afresh).
_subscriptions = Snapshot(
    lambda: tuple(WebhookSubscription.objects.filter(is_active=True)), sources=[WebhookSubscription]
)


def subscriptions_to(type: str) -> list[WebhookSubscription]:
    """The active subscriptions to events of ``type``."""
    return [s for s in _subscriptions.get() if type in (s.events or [])]


def webhook_audiences(
    *, subscriptions: Sequence[WebhookSubscription], members: Sequence[Collection[int]]
) -> list[list[WebhookSubscription]]:
    """For each event, named by the member primary keys in ``members``, the subscriptions that may receive it:
    the club-wide ones, and those whose shop has every one of the members as its customer (two queries, only
    when a subscription is not club-wide)."""
    scoped = {s.shop_id for s in subscriptions if not s.club_wide}
    pairs = customer_pairs(shop_ids=scoped, member_ids={pk for named in members for pk in named}) if scoped else set()
    return [
        [s for s in subscriptions if s.club_wide or all((s.shop_id, pk) in pairs for pk in named)] for named in members
    ]


def webhooks_publish(
    *, type: str, payloads: Sequence[dict[str, Any]], members: Sequence[Collection[int]]
) -> list[OutboxEvent]:
    """Write an outbox event per payload and a pending delivery per active subscription to ``type`` that may
    receive it (``webhook_audiences``: ``members[i]`` are the primary keys of the members ``payloads[i]`` names),
    and send them after commit; write nothing for an event no subscription receives.

    Call it inside the transaction that makes the change: if that rolls back, so do the events. A constant
    number of queries for any number of payloads (the scheduled jobs publish a batch at once).
    """
    subscriptions = subscriptions_to(type)
    if not payloads or not subscriptions:
        return []
    audiences = webhook_audiences(subscriptions=subscriptions, members=members)
    kept = [(payload, audience) for payload, audience in zip(payloads, audiences, strict=True) if audience]
    if not kept:
        return []
    with transaction.atomic(savepoint=False):  # inside the change's transaction: no savepoint of its own
        if len(kept) == 1:  # the common case, an order: its event id comes back without a bulk insert
            events = [OutboxEvent.objects.create(type=type, payload=kept[0][0])]
        else:
            events = OutboxEvent.objects.bulk_create([OutboxEvent(type=type, payload=p) for p, _a in kept])
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, subscription=subscription, next_attempt_at=event.created_at)
                for event, (_payload, audience) in zip(events, kept, strict=True)
                for subscription in audience
            ]
        )
        for delivery in deliveries:
            delivery_enqueue(delivery.pk)
    return events


# Who sends a delivery once its transaction commits: ``loyalty.tasks`` registers its Celery task here (the
# tasks sit above every service, so the outbox cannot import them). Until one registers, deliveries wait for
# the sweep.
_send: Callable[[int], object] | None = None


def delivery_sender_register(send: Callable[[int], object]) -> None:
    """Set what sends a delivery by id after commit (``loyalty.tasks`` does, with ``deliver_webhook.delay``)."""
    global _send
    _send = send


def delivery_enqueue(delivery_id: int) -> None:
    """Send the delivery after this transaction commits (at once if there is none)."""
    if _send is not None:
        transaction.on_commit(partial(_send, delivery_id), robust=True)


# Payloads ------------------------------------------------------------------------------------------


def points_changed_payload(*, member_public_id: Any, entry: Any) -> dict[str, Any]:
    refund = entry.refund if entry.refund_id else None
    order = entry.order if entry.order_id else (refund.order if refund else None)
    return {
        "member_id": str(member_public_id),
        "entry_id": entry.pk,
        "kind": entry.kind,
        "points": entry.points,
        "balance_after": entry.balance_after,
        "order_id": order.external_id if order else None,
        "refund_id": refund.external_id if refund else None,
        "shop": order.shop.slug if order else None,
    }
