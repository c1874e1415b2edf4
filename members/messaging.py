"""Messages to members by email and SMS: who gets what, through which channel, when, and the log of it.

How a message travels:

1. ``messages_queue`` is called inside the transaction of the event that causes it (an order, a tier
   change, a job's batch). It picks the channels the member allows, renders the staff-edited template in
   the member's language and writes one ``Message`` row per channel. The row's ``(kind, channel, key)`` is
   unique, so an event queued twice (a retried task, a job run again) is one message.
2. After commit, ``members.tasks.send_due_messages`` runs (and on the beat schedule every minute). It
   claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and a lease, so two workers never send one
   message; a worker that dies mid-send leaves the lease to run out and the next sweep sends it again
   (at least once: a crash between the provider's "ok" and our write can repeat one message).
3. Failures the provider calls temporary are retried with backoff, up to ``MAX_ATTEMPTS``; others fail
   at once. Every outcome is in the admin's message log.

Who gets what:

- Marketing (``MARKETING_KINDS``: the win-back offer) goes only through channels the member consented to.
- Club notifications (everything else) follow the member's settings ``notify_email`` / ``notify_sms``.
- Every message carries a way out: an unsubscribe link in emails (also as ``List-Unsubscribe`` with
  one-click POST), and "reply STOP" in SMS (the provider's callback, ``sms_inbound``).
- No SMS between 21:00 and 09:00 in the member's time zone: it waits until 09:00 (``quiet_until``).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import random
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template import Context, Template, TemplateSyntaxError
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.translation import gettext as _

from config.snapshots import Snapshot
from members import message_defaults
from members.models import (
    Member,
    Message,
    MessageChannel,
    MessageKind,
    MessageStatus,
    MessageTemplate,
)

logger = logging.getLogger(__name__)

MARKETING_KINDS = frozenset({MessageKind.WINBACK, MessageKind.SEGMENT})

# What each kind's template may use, besides first_name, club and portal_url (shown in the admin).
KIND_VARIABLES: dict[str, list[str]] = {
    MessageKind.WELCOME: [],
    MessageKind.POINTS_EARNED: ["points", "balance", "order", "shop"],
    MessageKind.TIER_UP: ["tier", "benefits"],
    MessageKind.TIER_DOWN: ["tier"],
    MessageKind.EXPIRY_WARNING: ["points", "date"],
    MessageKind.REWARD_REDEEMED: ["reward", "code", "how_to_use"],
    MessageKind.REFERRAL_REWARDED: ["points", "friend"],
    MessageKind.WINBACK: ["offer", "code", "valid_until"],
    MessageKind.SEGMENT: ["subject", "text"],
}

# What the admin's preview fills in.
SAMPLE_CONTEXT: dict[str, Any] = {
    "first_name": "Kari",
    "points": 1250,
    "balance": 3480,
    "order": "10023",
    "shop": "Nordlys Sport",
    "tier": "Gold",
    "benefits": ["Free shipping", "Double points on your birthday"],
    "date": dt.date(2027, 1, 31),
    "reward": "Gift card 200 kr",
    "code": "K7QF3M9XTA",
    "how_to_use": "Enter the code at checkout.",
    "friend": "Ola",
    "offer": "15 % off your next order",
    "valid_until": dt.date(2027, 1, 31),
    "subject": "News from the club",
    "text": "Our winter sale starts on Friday.",
}

QUIET_FROM = dt.time(21, 0)
QUIET_UNTIL = dt.time(9, 0)
MAX_ATTEMPTS = 8
SEND_LEASE = dt.timedelta(minutes=5)
SEND_BATCH = 200
UNSUBSCRIBE_SALT = "klubb.members.unsubscribe"
SEND_SOON = 1  # seconds
SEND_SOON_KEY = "klubb:messages:sweep-asked"


@dataclass(frozen=True)
class Outgoing:
    """One member's copy of a message: the event key that makes it unique, and the kind's variables."""

    member_id: int
    key: str
    context: dict[str, Any] = field(default_factory=dict)


def in_member_language(instance: object, attribute: str, kind: type = str) -> Any:
    """A text staff wrote per language (a tier's name, a reward's how-to), read only when the message is
    rendered, in the member's language: django-modeltranslation reads the active language's field."""
    return lazy(lambda: getattr(instance, attribute), kind)()


# --- Templates --------------------------------------------------------------------------------------------


def message_templates_install(*, reset: bool = False) -> int:
    """Create the default template for every kind, channel and language that has none (``reset``: overwrite)."""
    count = 0
    for row in message_defaults.default_templates():
        keys = {name: row[name] for name in ("kind", "channel", "language")}
        texts = {"subject": row["subject"], "body": row["body"]}
        if reset:
            MessageTemplate.objects.update_or_create(**keys, defaults=texts)
            count += 1
        else:
            count += MessageTemplate.objects.get_or_create(**keys, defaults=texts)[1]
    return count


def template_check(text: str) -> None:
    """Raise ``TemplateSyntaxError`` if ``text`` is not a valid template (the admin shows the message)."""
    Template(text)


def _templates_load() -> dict[str, dict[tuple[str, str], MessageTemplate]]:
    by_kind: dict[str, dict[tuple[str, str], MessageTemplate]] = {}
    for template in MessageTemplate.objects.filter(is_active=True):
        by_kind.setdefault(template.kind, {})[(template.channel, template.language)] = template
    return by_kind


# The active templates by kind, then (channel, language): every order's message reads them; kept per process
# (config/snapshots.py), so staff's edits reach messages queued by other processes within seconds.
_active_templates = Snapshot(_templates_load, sources=[MessageTemplate])


@functools.lru_cache(maxsize=512)
def _compiled(text: str) -> Template:
    """Templates compiled once per text: a job renders one text for thousands of members."""
    return Template(text)


def message_render(*, subject: str, body: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """Render a template's subject and text in ``language`` (numbers and dates formatted for it)."""
    full = {
        "club": settings.KLUBB_CLUB_NAME,
        "portal_url": settings.KLUBB_PORTAL_URL,
        "first_name": "",
        **context,
    }
    with translation.override(language):
        rendered_subject = _compiled(subject).render(Context(full, autoescape=False)) if subject else ""
        rendered_body = _compiled(body).render(Context(full, autoescape=False))
    return re.sub(r"\s*\n\s*", " ", rendered_subject).strip(), rendered_body.strip()


def message_preview(*, template: MessageTemplate) -> tuple[str, str]:
    """The template rendered with sample values, as staff see it in the admin."""
    try:
        return message_render(
            subject=template.subject, body=template.body, language=template.language, context=SAMPLE_CONTEXT
        )
    except TemplateSyntaxError as exc:
        return "", _("The template has an error: %(error)s") % {"error": exc}


# --- Queueing ---------------------------------------------------------------------------------------------


def channels_for(*, member: Member, kind: str) -> list[str]:
    """The channels ``kind`` may reach the member through now, by consent (marketing) or their settings."""
    if member.erased_at is not None:
        return []
    if kind in MARKETING_KINDS:
        email, sms = member.email_marketing, member.sms_marketing
    else:
        email, sms = member.notify_email, member.notify_sms
    channels = []
    if email and member.user.email:
        channels.append(MessageChannel.EMAIL)
    if sms and member.phone:
        channels.append(MessageChannel.SMS)
    return channels


def quiet_until(*, time_zone: str, now: dt.datetime) -> dt.datetime | None:
    """When an SMS may go if ``now`` is in the member's quiet hours (21:00-09:00 local), else ``None``."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(zone)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return None
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, QUIET_UNTIL, tzinfo=zone)


def messages_queue(
    *, kind: str, items: Sequence[Outgoing], now: dt.datetime | None = None, members: Sequence[Member] = ()
) -> int:
    """Queue ``kind`` for each member in ``items``; returns how many messages were written.

    A constant number of queries for any number of members (the jobs call it per batch). Call it inside
    the transaction of the event: the messages exist exactly when the event does, and go after commit.
    ``members``: the members (with their users) where the caller has them already, to save reading them.
    """
    if not items:
        return 0
    now = now or timezone.now()
    wanted = {item.member_id for item in items}
    members_by_id = {member.pk: member for member in members if member.pk in wanted}
    if missing := wanted - members_by_id.keys():
        members_by_id |= Member.objects.select_related("user").in_bulk(missing)
    templates = _active_templates.get().get(kind, {})
    rows = []
    for item in items:
        member = members_by_id.get(item.member_id)
        if member is None:
            continue
        for channel in channels_for(member=member, kind=kind):
            template = templates.get((channel, member.language))
            if template is None:
                continue  # switched off by staff for this language
            subject, body = message_render(
                subject=template.subject,
                body=template.body,
                language=member.language,
                context={"first_name": member.user.first_name, **item.context},
            )
            body = f"{body}\n\n{_footer(member=member, kind=kind, channel=channel)}"
            send_after = now
            if channel == MessageChannel.SMS:
                send_after = quiet_until(time_zone=member.time_zone, now=now) or now
            rows.append(
                Message(
                    member=member, kind=kind, channel=channel, key=item.key[:120], language=member.language,
                    to=member.user.email if channel == MessageChannel.EMAIL else member.phone,
                    subject=subject[:200], body=body, send_after=send_after, created_at=now,
                )
            )  # fmt: skip
    if not rows:
        return 0
    with transaction.atomic(savepoint=False):  # inside the event's transaction: no savepoint of its own
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(_send_due_later, robust=True)
    return len(rows)


def _send_due_later() -> None:
    """Ask a worker to send what is due, after a commit that queued messages.

    Under load many orders commit every second and one sweep sends everything due, so a process asks for a
    sweep at most once every ``SEND_SOON`` seconds, that far ahead: a message committed meanwhile is due by
    the time the sweep runs (the beat's sweep every minute catches anything else).
    """
    from members.tasks import send_due_messages

    if send_due_messages.app.conf.task_always_eager:
        send_due_messages.delay()  # in-process mode (make run, the tests): send at once
    elif cache.add(SEND_SOON_KEY, True, timeout=SEND_SOON):
        send_due_messages.apply_async(countdown=SEND_SOON)


def _footer(*, member: Member, kind: str, channel: str) -> str:
    with translation.override(member.language):
        if channel == MessageChannel.SMS:
            return _("Reply STOP to stop SMS from %(club)s.") % {"club": settings.KLUBB_CLUB_NAME}
        url = unsubscribe_url(member=member, kind=kind)
        if kind in MARKETING_KINDS:
            return _("You get this because you said yes to offers by email. Unsubscribe: %(url)s") % {"url": url}
        return _("You get this because you are a member of %(club)s. Stop these emails: %(url)s") % {
            "club": settings.KLUBB_CLUB_NAME,
            "url": url,
        }


# --- Sending ----------------------------------------------------------------------------------------------


def messages_claim(*, now: dt.datetime | None = None, limit: int = SEND_BATCH) -> list[int]:
    """Take up to ``limit`` due messages for this worker: a lease no other worker will take while it runs."""
    now = now or timezone.now()
    with transaction.atomic():
        due = (
            Message.objects.select_for_update(skip_locked=True)
            .filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING], send_after__lte=now)
            .order_by("send_after", "id")
        )
        ids = list(due.values_list("id", flat=True)[:limit])
        Message.objects.filter(pk__in=ids).update(
            status=MessageStatus.SENDING, send_after=now + SEND_LEASE, attempts=F("attempts") + 1
        )
    return ids


def message_send(*, message_id: int, now: dt.datetime | None = None) -> str:
    """Send one claimed message and record the outcome: ``sent``, ``retry``, ``failed``, ``cancelled`` or
    ``waiting`` (an SMS whose retry fell in quiet hours)."""
    from members.sms import SmsError, sms_backend

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
    if retry and message.attempts < MAX_ATTEMPTS:
        delay = min(60 * 2 ** (message.attempts - 1), 6 * 60 * 60)
        delay += random.uniform(0, delay * 0.1)  # jitter, not cryptography
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.QUEUED, send_after=now + dt.timedelta(seconds=delay), error=error[:1000]
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


def messages_retry(*, message_ids: Sequence[int]) -> int:
    """Queue failed or cancelled messages again (staff, from the message log); still only where allowed."""
    count = Message.objects.filter(
        pk__in=message_ids, status__in=[MessageStatus.FAILED, MessageStatus.CANCELLED]
    ).update(status=MessageStatus.QUEUED, send_after=timezone.now(), attempts=0, error="")
    if count:
        transaction.on_commit(_send_due_later, robust=True)
    return count


# --- Ways out ---------------------------------------------------------------------------------------------


def unsubscribe_url(*, member: Member, kind: str) -> str:
    """An absolute link that stops this sort of email (marketing or notifications) without logging in."""
    # No timestamp in the token (the link does not expire): the same member and kind always give the same
    # link, so the body's link and the List-Unsubscribe header (made at sending) are one.
    token = signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(
        {"m": str(member.public_id), "what": "marketing" if kind in MARKETING_KINDS else "notify"}, compress=True
    )
    return urljoin(settings.KLUBB_PORTAL_URL, reverse("unsubscribe", args=[token]))


@dataclass(frozen=True)
class Unsubscription:
    member: Member
    what: str  # "marketing" or "notify"


def unsubscribe_read(*, token: str) -> Unsubscription | None:
    """The member and what the link stops, or ``None`` for a forged or broken link."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    member = Member.objects.select_related("user").filter(public_id=data.get("m")).first()
    if member is None or data.get("what") not in {"marketing", "notify"}:
        return None
    return Unsubscription(member=member, what=data["what"])


# --- Privacy (registered in ``MembersConfig.ready``) ------------------------------------------------------


def messages_export(member: Member) -> dict[str, Any]:
    return {
        "messages": [
            {"kind": m.kind, "channel": m.channel, "to": m.to, "status": m.status,
             "queued_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
             "subject": m.subject, "text": m.body}
            for m in member.messages.order_by("created_at", "id")
        ],
        "club_notifications": {"email": member.notify_email, "sms": member.notify_sms, "time_zone": member.time_zone},
    }  # fmt: skip


def messages_erase(member: Member) -> None:
    """Keep the log's counts (kind, channel, when, outcome); wipe addresses and texts, cancel what waits."""
    member.messages.filter(status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, error="The member deleted their account."
    )
    member.messages.update(to="", subject="", body="")
