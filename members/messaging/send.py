"""Sending due messages: claimed under a lease so two workers never send one, retried with backoff.

A worker claims a batch of due messages under one claim (a random token written on each row) and a lease. Before
each send it renews that message's lease for a whole ``SEND_LEASE`` from that moment, and only while the row still
carries its claim; every outcome is recorded under the claim too. So a message whose turn came after its batch's
lease ran out, and another worker took it, is left to that worker (neither sent nor recorded twice), and no other
worker takes a message while its send is under way: the lease is longer than any send may take (a number of
network steps, each within ``EMAIL_TIMEOUT`` or ``SMS_TIMEOUT``; settings refuse a shorter lease). A send the
provider accepted whose answer is lost is sent again on retry, carrying the same ``Message-ID`` (email) and
idempotency key (SMS) as before, for a receiver that deduplicates by them.

The worker reads its batch's messages with their members and users in one query after the claim (only those still
carrying it), and the rest of the batch again whenever what it read is older than ``MEMBERS_FRESH`` seconds (slow
sends): a member's opt-out reaches the sends as soon as a template edit does. The per-message renewal is what
decides: a message another worker took over, or an erasure cancelled, since the batch was read is skipped there.
The renewal and the outcome are each one ``UPDATE`` built once per process (``config.rows.row_update``): two
statements per message, and three per batch (the claim's two, the read).

The worker renders what it sends (``message_compose``): a message is queued with its variables, and rendered just
before its first send, in the language it was queued in, from the template active then (staff's edits made after
it was queued apply; a template switched off since cancels it). The text is kept on the row with the outcome, so a
retry sends the same text again, and the log shows what was sent. A message rendered when it was queued (before
this was so) is sent as it is.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import F
from django.template import TemplateSyntaxError
from django.utils import timezone

from config.leases import RetryPolicy, lease_claim
from config.rows import row_update
from config.snapshots import SNAPSHOT_SECONDS
from members.messaging.compose import TemplateOff, message_compose
from members.messaging.queue import channels_for, quiet_until
from members.messaging.unsubscribe import unsubscribe_url
from members.models import Message, MessageChannel, MessageStatus
from members.sms import SmsError, sms_backend

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
SEND_LEASE = dt.timedelta(seconds=settings.KLUBB_MESSAGE_LEASE_SECONDS)
SEND_BATCH = 200
# What the worker read of a batch's members (their consents and settings) is read again for the rest of the batch
# once it is older than this: an opt-out reaches the sends as soon as a template edit does (config/snapshots.py).
MEMBERS_FRESH = SNAPSHOT_SECONDS
# A temporary failure is tried again after 1 min x 2^(n-1), capped at 6 hours, plus up to 10% jitter, until
# ``MAX_ATTEMPTS`` attempts were made.
RETRY = RetryPolicy(base_seconds=60, cap_seconds=6 * 60 * 60, max_attempts=MAX_ATTEMPTS)


@dataclass(frozen=True)
class Claim:
    """The due messages one worker took, and the token that says they are its to send."""

    token: uuid.UUID
    message_ids: list[int]


def messages_claim(*, now: dt.datetime | None = None, limit: int = SEND_BATCH) -> Claim:
    """Take up to ``limit`` due messages for this worker: a lease no other worker will take while it runs."""
    token = uuid.uuid4()
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
        claim=token,
    )
    return Claim(token=token, message_ids=[message.pk for message in taken])


def message_send(*, message_id: int, claim: uuid.UUID, now: dt.datetime | None = None) -> str:
    """Send one message this worker claimed and record the outcome: ``sent``, ``retry``, ``failed``,
    ``cancelled``, ``waiting`` (an SMS whose retry fell in quiet hours) or ``skipped`` (another worker has
    taken it over since). ``messages_send_due`` reads its batch at once instead."""
    message = _claimed_read(claim, [message_id]).get(message_id)
    return "skipped" if message is None else _send(message, claim, now=now or timezone.now())


def _claimed_read(claim: uuid.UUID, message_ids: list[int]) -> dict[int, Message]:
    """Those of ``message_ids`` still being sent under ``claim``, with their members and users: one query."""
    return (
        Message.objects.select_related("member__user")
        .filter(status=MessageStatus.SENDING, claim=claim)
        .in_bulk(message_ids)
    )


def _send(message: Message, claim: uuid.UUID, *, now: dt.datetime) -> str:
    """Send ``message`` (read with its member and user) and record the outcome, if it is still ours."""
    # Hold it for a whole lease from now, while it is still ours: no other worker takes it during the send.
    if not _record(message, claim, send_after=now + SEND_LEASE):
        return "skipped"
    member = message.member
    if member is None or message.channel not in channels_for(member=member, kind=message.kind):
        return _finish(message, claim, MessageStatus.CANCELLED, error="The member no longer gets this message.")
    if message.channel == MessageChannel.SMS:
        later = quiet_until(time_zone=member.time_zone, now=now)
        if later is not None:
            _record(message, claim, status=MessageStatus.QUEUED, send_after=later)
            return "waiting"
    url = unsubscribe_url(member=member, kind=message.kind) if message.channel == MessageChannel.EMAIL else ""
    text: dict[str, str] = {}  # the text rendered now, kept on the row with the outcome (a retry sends it again)
    if not message.body:  # queued with its variables (a message rendered when queued, before, is sent as it is)
        try:
            message.subject, message.body = message_compose(message=message, member=member, url=url)
        except TemplateOff:
            return _finish(message, claim, MessageStatus.CANCELLED, error="Its template was switched off by staff.")
        except TemplateSyntaxError as exc:
            return _finish(message, claim, MessageStatus.FAILED, error=f"The template has an error: {exc}")
        text = {"subject": message.subject, "body": message.body}
    try:
        if message.channel == MessageChannel.EMAIL:
            _email_send(message, url=url)
            provider_id = ""
        else:
            provider_id = sms_backend().send(to=message.to, body=message.body, idempotency_key=_key(message))
    except SmsError as exc:
        return _retry_or_fail(message, claim, str(exc), retry=exc.retry, now=now, **text)
    except OSError as exc:  # smtplib's errors are OSErrors: a mail server down or refusing for now
        return _retry_or_fail(message, claim, f"{exc.__class__.__name__}: {exc}", retry=True, now=now, **text)
    return _finish(message, claim, MessageStatus.SENT, provider_id=provider_id, sent_at=now, **text)


def _record(message: Message, claim: uuid.UUID, **changes: Any) -> int:
    """Write ``changes`` to ``message`` if it is still being sent under ``claim`` (else nothing: 0 rows), by
    SQL built once per process (an ORM ``update`` per message cost more Python than sending it)."""
    return row_update(Message, changes, pk=message.pk, status=MessageStatus.SENDING, claim=claim)


def _key(message: Message) -> str:
    """The same for every attempt at ``message``, and for no other message of this club."""
    return f"klubb-message-{message.pk}"


@functools.lru_cache(maxsize=8)
def _domain(from_email: str) -> str:
    """The domain of the ``Message-ID``s: the sender's (``DEFAULT_FROM_EMAIL``)."""
    return parseaddr(from_email)[1].rpartition("@")[2] or "localhost"


def _email_send(message: Message, *, url: str) -> None:
    EmailMessage(
        subject=message.subject,
        body=message.body,
        to=[message.to],
        headers={
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Message-ID": f"<{_key(message)}@{_domain(settings.DEFAULT_FROM_EMAIL)}>",
        },
    ).send()


def _retry_or_fail(
    message: Message, claim: uuid.UUID, error: str, *, retry: bool, now: dt.datetime, **text: str
) -> str:
    next_at = RETRY.next_attempt_at(attempts=message.attempts, now=now) if retry else None
    if next_at is not None:
        _record(message, claim, status=MessageStatus.QUEUED, send_after=next_at, error=error[:1000], **text)
        return "retry"
    logger.warning("Message %s failed: %s", message.pk, error)
    return _finish(message, claim, MessageStatus.FAILED, error=error, **text)


def _finish(message: Message, claim: uuid.UUID, status: str, **fields: Any) -> str:
    if "error" in fields:
        fields["error"] = fields["error"][:1000]
    _record(message, claim, status=status, **fields)
    return str(status)


def messages_send_due(*, now: dt.datetime | None = None, limit: int = 10_000) -> dict[str, int]:
    """Send due messages in claimed batches until none are due (or ``limit`` were tried)."""
    outcomes: dict[str, int] = {}
    tried = 0
    while tried < limit:
        claim = messages_claim(now=now, limit=min(SEND_BATCH, limit - tried))
        if not claim.message_ids:
            break
        for outcome in _batch_send(claim, now=now):
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        tried += len(claim.message_ids)
    return outcomes


def _batch_send(claim: Claim, *, now: dt.datetime | None) -> Iterator[str]:
    """Send a claimed batch, in the order claimed: its messages, members and users read in one query, and again
    (the rest of the batch) when what was read is older than ``MEMBERS_FRESH`` seconds (slow sends)."""
    read_at = time.time()
    messages = _claimed_read(claim.token, claim.message_ids)
    for position, message_id in enumerate(claim.message_ids):
        if time.time() - read_at > MEMBERS_FRESH:
            read_at = time.time()
            messages = _claimed_read(claim.token, claim.message_ids[position:])
        message = messages.get(message_id)
        # One no longer ours when read (another worker's now, or cancelled by an erasure) is left alone.
        yield "skipped" if message is None else _send(message, claim.token, now=now or timezone.now())
