"""Sending due messages: claimed under a lease so two workers never send one, retried with backoff."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone

from config.leases import RetryPolicy, lease_claim
from members.messaging.queue import channels_for, quiet_until
from members.messaging.unsubscribe import unsubscribe_url
from members.models import Message, MessageChannel, MessageStatus
from members.sms import SmsError, sms_backend

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SEND_LEASE = dt.timedelta(minutes=5)
SEND_BATCH = 200
# A temporary failure is tried again after 1 min x 2^(n-1), capped at 6 hours, plus up to 10% jitter, until
# ``MAX_ATTEMPTS`` attempts were made.
RETRY = RetryPolicy(base_seconds=60, cap_seconds=6 * 60 * 60, max_attempts=MAX_ATTEMPTS)


def messages_claim(*, now: dt.datetime | None = None, limit: int = SEND_BATCH) -> list[int]:
    """Take up to ``limit`` due messages for this worker: a lease no other worker will take while it runs."""
    taken = lease_claim(
        Message.objects.filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING])
        .order_by("send_after", "id")
        .only("id"),
        due_field="send_after",
        lease=SEND_LEASE,
        limit=limit,
        now=now or timezone.now(),
        status=MessageStatus.SENDING,
        attempts=F("attempts") + 1,
    )
    return [message.pk for message in taken]


def message_send(*, message_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed message and record the outcome: ``sent``, ``retry``, ``failed``, ``cancelled`` or
    ``waiting`` (an SMS whose retry fell in quiet hours)."""
    now = now or timezone.now()
    message = Message.objects.select_related("member__user").filter(pk=message_id).first()
    if message is None or message.status != MessageStatus.SENDING:
        return "skipped"
    member = message.member
    if member is None or message.channel not in channels_for(member=member, kind=message.kind):
        return _finish(message, MessageStatus.CANCELLED, error="The member no longer gets this message.")
    if message.channel == MessageChannel.SMS:
        later = quiet_until(time_zone=member.time_zone, now=now)
        if later is not None:
            Message.objects.filter(pk=message.pk).update(status=MessageStatus.QUEUED, send_after=later)
            return "waiting"
    try:
        if message.channel == MessageChannel.EMAIL:
            _email_send(message)
            provider_id = ""
        else:
            provider_id = sms_backend().send(to=message.to, body=message.body)
    except SmsError as exc:
        return _retry_or_fail(message, str(exc), retry=exc.retry, now=now)
    except OSError as exc:  # smtplib's errors are OSErrors: a mail server down or refusing for now
        return _retry_or_fail(message, f"{exc.__class__.__name__}: {exc}", retry=True, now=now)
    return _finish(message, MessageStatus.SENT, provider_id=provider_id, sent_at=now)


def _email_send(message: Message) -> None:
    url = unsubscribe_url(member=message.member, kind=message.kind)
    EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.to],
        headers={"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    ).send()


def _retry_or_fail(message: Message, error: str, *, retry: bool, now: dt.datetime) -> str:
    next_at = RETRY.next_attempt_at(attempts=message.attempts, now=now) if retry else None
    if next_at is not None:
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED, send_after=next_at, error=error[:1000]
        )
        return "retry"
    logger.warning("Message %s failed: %s", message.pk, error)
    return _finish(message, MessageStatus.FAILED, error=error)


def _finish(message: Message, status: str, **fields: Any) -> str:
    if "error" in fields:
        fields["error"] = fields["error"][:1000]
    Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(status=status, **fields)
    return str(status)


def messages_send_due(*, now: dt.datetime | None = None, limit: int = 10_000) -> dict[str, int]:
    """Send due messages in claimed batches until none are due (or ``limit`` were tried)."""
    outcomes: dict[str, int] = {}
    tried = 0
    while tried < limit:
        ids = messages_claim(now=now, limit=min(SEND_BATCH, limit - tried))
        if not ids:
            break
        for message_id in ids:
            outcome = message_send(message_id=message_id, now=now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        tried += len(ids)
    return outcomes
