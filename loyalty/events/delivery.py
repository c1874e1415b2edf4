"""Sending outbound webhooks: one signed attempt at a time, under a lease, retried with backoff.

Each attempt has a total deadline (``WEBHOOK_DEADLINE_SECONDS``: connecting, sending and the whole answer,
``loyalty.events.transport``); one that runs out of time is a failed attempt. A receiver cannot hold the
workers either: each delivery is its own task, and once an attempt to a subscription runs out of time the
subscription is held back (``held_until``, doubling like the retries) and its deliveries that come due
meanwhile are moved past the hold without a request, while one probe at a time finds out whether the
receiver is back. So a hanging receiver costs at most the attempts already under way when it started to
hang, each at most the deadline, and then one attempt per hold. A switched-off subscription's deliveries
stop (``cancelled``), and nothing goes to a plain http URL outside development.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.leases import RetryPolicy, lease_claim
from loyalty.events.outbox import delivery_enqueue
from loyalty.events.transport import PostResult, post_within
from loyalty.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookSubscription,
    webhook_url_allowed,
)

# The whole of an attempt (name lookup, connect, TLS, sending, the whole answer) must end within this.
WEBHOOK_DEADLINE_SECONDS = 10.0
WEBHOOK_RETRY_WINDOW = dt.timedelta(hours=24)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 60 * 60
# A failed attempt is tried again after 30 s x 2^(n-1), capped at an hour, plus up to 10% jitter so failing
# receivers are not hit in step, for as long as the event is younger than the retry window. A subscription
# whose attempts run out of time is held back by the same schedule, counted in timed-out attempts in a row.
RETRY = RetryPolicy(base_seconds=BACKOFF_BASE_SECONDS, cap_seconds=BACKOFF_CAP_SECONDS, window=WEBHOOK_RETRY_WINDOW)
# While one worker sends, the delivery's next_attempt_at is pushed this far ahead so no other worker
# (a retry, the sweep) sends the same attempt; if the worker dies, the sweep picks it up afterwards.
SEND_LEASE = dt.timedelta(seconds=WEBHOOK_DEADLINE_SECONDS + 50)
SWEEP_BATCH = 500
USER_AGENT = "Klubb-Webhooks/1.0"
HTTPS_REQUIRED = "URL must be https (http is allowed only in development)"
HELD_BACK = "Held back: attempts to this URL ran out of time; one is tried at a time until it answers again"
MAX_SLOW_STREAK = 100


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
    return RETRY.backoff(attempts)


@dataclass(frozen=True)
class DeliveryOutcome:
    # "skipped" (not due, taken or done), "delivered", "retry", "failed", "cancelled" (subscription switched
    # off) or "held" (its receiver is held back after running out of time: moved on without a request)
    status: str
    retry_in: float | None = None


def _post(url: str, body: bytes, headers: dict[str, str]) -> PostResult:
    """POST within the deadline; a plain http URL outside development is refused without a request."""
    if not webhook_url_allowed(url):
        return PostResult(None, HTTPS_REQUIRED)
    return post_within(url=url, body=body, headers=headers, seconds=WEBHOOK_DEADLINE_SECONDS)


def _claim(delivery_id: int) -> WebhookDelivery | None:
    """Take a due pending delivery for this worker, or ``None`` if it is not due, done, or another has it."""
    taken = lease_claim(
        WebhookDelivery.objects.select_related("event", "subscription").filter(
            pk=delivery_id, status=WebhookDeliveryStatus.PENDING
        ),
        due_field="next_attempt_at",
        lease=SEND_LEASE,
        limit=1,
        of=("self",),
    )
    return taken[0] if taken else None


def _held_until(subscription: WebhookSubscription, now: dt.datetime) -> dt.datetime | None:
    """When a held-back subscription may be tried again, or ``None``: send now, because it is not held back or
    because this attempt takes its one probe (which holds the others back for the lease while it runs)."""
    if not subscription.slow_streak:
        return None
    probe = WebhookSubscription.objects.filter(pk=subscription.pk, slow_streak__gt=0, held_until__lte=now)
    if probe.update(held_until=now + SEND_LEASE):
        return None
    state = WebhookSubscription.objects.filter(pk=subscription.pk).values("slow_streak", "held_until").first()
    if state is None or not state["slow_streak"] or state["held_until"] is None:
        return None
    return state["held_until"]


def _hold(delivery: WebhookDelivery, *, until: dt.datetime, now: dt.datetime) -> DeliveryOutcome:
    """Move a delivery of a held-back subscription past the hold, with no request and no attempt counted; once
    its retry window has closed, give it up like a delivery whose attempts failed."""
    window_end = delivery.event.created_at + WEBHOOK_RETRY_WINDOW
    delivery.last_error = delivery.last_error or HELD_BACK
    if now >= window_end:
        delivery.status = WebhookDeliveryStatus.FAILED
        outcome = DeliveryOutcome(status="failed")
    else:
        delivery.next_attempt_at = min(until, window_end)
        outcome = DeliveryOutcome(status="held", retry_in=max((delivery.next_attempt_at - now).total_seconds(), 0))
    delivery.save(update_fields=["status", "last_error", "next_attempt_at"])
    return outcome


def _endpoint_record(subscription: WebhookSubscription, *, timed_out: bool, now: dt.datetime) -> None:
    """After an attempt: one that ran out of time holds the subscription back (longer each time, like retries);
    any answer in time ends the hold."""
    if timed_out:
        streak = min(subscription.slow_streak + 1, MAX_SLOW_STREAK)
        held_until = now + dt.timedelta(seconds=RETRY.backoff(streak))
        WebhookSubscription.objects.filter(pk=subscription.pk).update(slow_streak=streak, held_until=held_until)
    elif subscription.slow_streak:
        WebhookSubscription.objects.filter(pk=subscription.pk).update(slow_streak=0, held_until=None)


def webhook_deliver(*, delivery_id: int) -> DeliveryOutcome:
    """Send one attempt of a delivery if it is due, log it, and mark it delivered or schedule the retry.

    Idempotent: a delivered, failed or cancelled delivery, or one another worker is sending, is not sent. A
    delivery of a switched-off subscription is cancelled instead; one of a held-back subscription is moved on.
    """
    delivery = _claim(delivery_id)
    if delivery is None:
        return DeliveryOutcome(status="skipped")
    event, subscription = delivery.event, delivery.subscription
    if not subscription.is_active:
        WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDeliveryStatus.PENDING).update(
            status=WebhookDeliveryStatus.CANCELLED
        )
        return DeliveryOutcome(status="cancelled")
    held_until = _held_until(subscription, timezone.now())
    if held_until is not None:
        return _hold(delivery, until=held_until, now=timezone.now())
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
    result = _post(subscription.url, body, headers)
    duration_ms = int((time.monotonic() - started) * 1000)
    status_code, error = result.status_code, result.error
    if status_code is not None and 200 <= status_code < 300:
        error = ""
    elif status_code is not None and not error:
        error = f"HTTP {status_code}"

    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery, at=now, status_code=status_code, error=error, duration_ms=duration_ms
        )
        _endpoint_record(subscription, timed_out=result.timed_out, now=now)
        delivery.attempts += 1
        delivery.last_status_code = status_code
        delivery.last_error = error
        if not error:
            delivery.status = WebhookDeliveryStatus.DELIVERED
            delivery.delivered_at = now
            outcome = DeliveryOutcome(status="delivered")
        else:
            next_at = RETRY.next_attempt_at(attempts=delivery.attempts, now=now, started=event.created_at)
            if next_at is None:
                delivery.status = WebhookDeliveryStatus.FAILED
                outcome = DeliveryOutcome(status="failed")
            else:
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
    """Staff: send these deliveries again now, whatever their status, unless their subscription is switched off.
    Returns the ids queued (after commit)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(deliveries.filter(subscription__is_active=True).values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=now, delivered_at=None
        )
        for delivery_id in ids:
            delivery_enqueue(delivery_id)
    return ids
