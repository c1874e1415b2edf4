"""Outbound webhooks: club events written to an outbox and delivered, signed, to shops' endpoints.

``events_publish`` runs inside the transaction of the change it reports, so an event exists exactly
when its change does. Delivery happens after commit (``loyalty.tasks.deliver_webhook``) and is
retried with exponential backoff for up to ``WEBHOOK_RETRY_WINDOW`` after the event; a periodic
sweep (``loyalty.tasks.webhooks_retry_due``) re-enqueues due deliveries so a lost task loses nothing.

Events are club-wide: every active subscription of any shop that subscribed to the type receives
it. Payloads therefore carry ids (the member's public UUID), never names, emails or phones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
)

WEBHOOK_TIMEOUT_SECONDS = 5
WEBHOOK_RETRY_WINDOW = dt.timedelta(hours=24)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 60 * 60
# While one worker sends, the delivery's next_attempt_at is pushed this far ahead so no other worker
# (a retry, the sweep) sends the same attempt; if the worker dies, the sweep picks it up afterwards.
SEND_LEASE = dt.timedelta(seconds=WEBHOOK_TIMEOUT_SECONDS + 55)
SWEEP_BATCH = 500
USER_AGENT = "Klubb-Webhooks/1.0"


# Every change that publishes an event looks the subscribers up; kept per process (config/snapshots.py), so a
# new or switched-off subscription takes effect within seconds (sending reads its URL and secret afresh).
_subscriptions = Snapshot(
    lambda: tuple(WebhookSubscription.objects.filter(is_active=True)), sources=[WebhookSubscription]
)


def subscriptions_to(type: str) -> list[WebhookSubscription]:
    """The active subscriptions to events of ``type``."""
    return [s for s in _subscriptions.get() if type in (s.events or [])]


def events_publish(*, type: str, payload: dict[str, Any]) -> OutboxEvent:
    """Write an event and one pending delivery per active subscription to ``type``; send them after commit.

    Call it inside the transaction that makes the change: if that rolls back, so does the event.
    """
    with transaction.atomic(savepoint=False):  # inside the change's transaction: no savepoint of its own
        event = OutboxEvent.objects.create(type=type, payload=payload)
        subscriptions = subscriptions_to(type)
        for subscription in subscriptions:
            delivery = WebhookDelivery.objects.create(
                event=event, subscription=subscription, next_attempt_at=event.created_at
            )
            transaction.on_commit(_enqueuer(delivery.pk), robust=True)
    return event


def events_publish_many(*, type: str, payloads: list[dict[str, Any]]) -> list[OutboxEvent]:
    """``events_publish`` for a batch (the scheduled jobs): a constant number of queries per call."""
    if not payloads:
        return []
    with transaction.atomic(savepoint=False):
        events = OutboxEvent.objects.bulk_create([OutboxEvent(type=type, payload=payload) for payload in payloads])
        subscriptions = subscriptions_to(type)
        deliveries = WebhookDelivery.objects.bulk_create(
            [
                WebhookDelivery(event=event, subscription=subscription, next_attempt_at=event.created_at)
                for event in events
                for subscription in subscriptions
            ]
        )
        for delivery in deliveries:
            transaction.on_commit(_enqueuer(delivery.pk), robust=True)
    return events


def _enqueuer(delivery_id: int) -> Any:
    def enqueue() -> None:
        from loyalty.tasks import deliver_webhook

        deliver_webhook.delay(delivery_id)

    return enqueue


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Klubb-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_body(event: OutboxEvent) -> bytes:
    return json.dumps(
        {
            "id": str(event.event_id),
            "type": event.type,
            "created_at": event.created_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "data": event.payload,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()


def backoff_seconds(attempts: int) -> float:
    """30 s x 2^(n-1), capped at an hour, plus up to 10% jitter so failing receivers are not hit in step."""
    delay = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    return delay + random.uniform(0, delay * 0.1)  # jitter, not cryptography


@dataclass(frozen=True)
class DeliveryOutcome:
    status: str  # "skipped" (not due, taken or done), "delivered", "retry" or "failed"
    retry_in: float | None = None


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer we do not follow (it would turn the POST into a GET): it counts as a failure."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST and return ``(status code, error)``; a network failure has no status code."""
    if not url.lower().startswith(("http://", "https://")):
        return None, "URL scheme must be http or https"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # scheme checked above
    try:
        with _opener.open(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            response.read(64 * 1024)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"[:1000]


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a due pending delivery for this worker, or ``None`` if it is not due, done, or another has it."""
    now = timezone.now()
    with transaction.atomic():
        delivery = (
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("event", "subscription")
            .filter(pk=delivery_id, status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:
            return None
        delivery.next_attempt_at = now + SEND_LEASE
        delivery.save(update_fields=["next_attempt_at"])
    return delivery


def webhook_deliver(*, delivery_id: int) -> DeliveryOutcome:
    """Send one attempt of a delivery if it is due, log it, and mark it delivered or schedule the retry.

    Idempotent: a delivered or failed delivery, or one another worker is sending, is not sent.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return DeliveryOutcome(status="skipped")
    event, subscription = delivery.event, delivery.subscription
    body = webhook_body(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Klubb-Event-Id": str(event.event_id),
        "X-Klubb-Event-Type": event.type,
        "X-Klubb-Timestamp": str(timestamp),
        "X-Klubb-Signature": webhook_signature(secret=subscription.secret, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    status_code, error = _post(subscription.url, body, headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    if status_code is not None and 200 <= status_code < 300:
        error = ""
    elif status_code is not None and not error:
        error = f"HTTP {status_code}"

    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery, at=now, status_code=status_code, error=error, duration_ms=duration_ms
        )
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if not error:
            delivery.status = WebhookDeliveryStatus.DELIVERED
            delivery.delivered_at = now
            outcome = DeliveryOutcome(status="delivered")
        else:
            deadline = event.created_at + WEBHOOK_RETRY_WINDOW
            if now >= deadline:
                delivery.status = WebhookDeliveryStatus.FAILED
                outcome = DeliveryOutcome(status="failed")
            else:
                next_at = min(now + dt.timedelta(seconds=backoff_seconds(delivery.attempts)), deadline)
                delivery.next_attempt_at = next_at
                outcome = DeliveryOutcome(status="retry", retry_in=(next_at - now).total_seconds())
        delivery.save(
            update_fields=["attempts", "last_status_code", "last_error", "status", "delivered_at", "next_attempt_at"]
        )
    return outcome


def webhooks_due(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> list[int]:
    """Ids of pending deliveries whose next attempt is due, oldest first."""
    return list(
        WebhookDelivery.objects.filter(status=WebhookDeliveryStatus.PENDING, next_attempt_at__lte=now or timezone.now())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def webhooks_redeliver(*, deliveries: Any) -> list[int]:
    """Staff: send these deliveries again now, whatever their status. Returns the ids queued (after commit)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(deliveries.values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=now, delivered_at=None
        )
        for delivery_id in ids:
            transaction.on_commit(_enqueuer(delivery_id), robust=True)
    return ids


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
