"""Sending outbound webhooks: one signed attempt at a time, under a lease, retried with backoff."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.leases import RetryPolicy, lease_claim
from loyalty.events.outbox import delivery_enqueue
from loyalty.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
)

WEBHOOK_TIMEOUT_SECONDS = 5
WEBHOOK_RETRY_WINDOW = dt.timedelta(hours=24)
BACKOFF_BASE_SECONDS = 30
BACKOFF_CAP_SECONDS = 60 * 60
# A failed attempt is tried again after 30 s x 2^(n-1), capped at an hour, plus up to 10% jitter so failing
# receivers are not hit in step, for as long as the event is younger than the retry window.
RETRY = RetryPolicy(base_seconds=BACKOFF_BASE_SECONDS, cap_seconds=BACKOFF_CAP_SECONDS, window=WEBHOOK_RETRY_WINDOW)
# While one worker sends, the delivery's next_attempt_at is pushed this far ahead so no other worker
# (a retry, the sweep) sends the same attempt; if the worker dies, the sweep picks it up afterwards.
SEND_LEASE = dt.timedelta(seconds=WEBHOOK_TIMEOUT_SECONDS + 55)
SWEEP_BATCH = 500
USER_AGENT = "Klubb-Webhooks/1.0"


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
    """Staff: send these deliveries again now, whatever their status. Returns the ids queued (after commit)."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(deliveries.values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=WebhookDeliveryStatus.PENDING, next_attempt_at=now, delivered_at=None
        )
        for delivery_id in ids:
            delivery_enqueue(delivery_id)
    return ids
