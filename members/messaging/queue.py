"""Queueing messages: who gets a kind through which channel, in their language, and when it may go."""

from __future__ import annotations

import datetime as dt
import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone, translation

from members.message_kinds import message_kind_is_marketing
from members.messaging.templates import active_templates, context_resolve
from members.models import Member, Message, MessageChannel, MessageStatus

logger = logging.getLogger(__name__)

QUIET_FROM = dt.time(21, 0)
QUIET_UNTIL = dt.time(9, 0)
SEND_SOON = 1  # seconds
SEND_SOON_KEY = "klubb:messages:sweep-asked"


@dataclass(frozen=True)
class Outgoing:
    """One member's copy of a message: the event key that makes it unique, and the kind's variables.

    The variables are stored with the message and rendered when it is sent: strings, numbers, booleans, dates,
    datetimes, decimals, and lists and dicts of them (``members.message_context``), and texts staff wrote per
    language (``in_member_language``), read in the member's language when the message is queued.
    """

    member_id: int
    key: str
    context: dict[str, Any] = field(default_factory=dict)


def channels_for(*, member: Member, kind: str) -> list[str]:
    """The channels ``kind`` may reach the member through now, by consent (marketing) or their settings."""
    if member.erased_at is not None:
        return []
    if message_kind_is_marketing(kind):
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

    Decided now: the channels (consent, settings), the language (the member's), when it may go (quiet hours for
    SMS) and the variables, with texts staff wrote per language (``in_member_language``) read in the member's
    language. Not done now: rendering. The worker that sends a message renders it with the template active then
    (``message_compose``), so an order or a job's batch pays for no template nor unsubscribe link; a kind whose
    template for that channel and language is switched off now is not queued at all.
    """
    if not items:
        return 0
    now = now or timezone.now()
    wanted = {item.member_id for item in items}
    members_by_id = {member.pk: member for member in members if member.pk in wanted}
    if missing := wanted - members_by_id.keys():
        members_by_id |= Member.objects.select_related("user").in_bulk(missing)
    templates = active_templates.get().get(kind, {})
    # Each member's channels (consent, settings, a template for their language), in the order of ``items``.
    reached: list[tuple[Outgoing, Member, list[str]]] = []
    for item in items:
        member = members_by_id.get(item.member_id)
        if member is None:
            continue
        language = member.language
        channels = [channel for channel in channels_for(member=member, kind=kind) if (channel, language) in templates]
        if channels:  # none where staff switched off the template for the member's language
            reached.append((item, member, channels))
    by_language: dict[str, list[int]] = {}
    for index, (_item, member, _channels) in enumerate(reached):
        by_language.setdefault(member.language, []).append(index)
    contexts: dict[int, dict[str, Any]] = {}
    for language, indexes in by_language.items():
        with translation.override(language):  # once per language, not per member
            contexts |= {index: context_resolve(reached[index][0].context) for index in indexes}
    rows = []
    for index, (item, member, channels) in enumerate(reached):
        for channel in channels:
            send_after = now
            if channel == MessageChannel.SMS:
                send_after = quiet_until(time_zone=member.time_zone, now=now) or now
            rows.append(
                Message(
                    member=member, kind=kind, channel=channel, key=item.key[:120], language=member.language,
                    to=member.user.email if channel == MessageChannel.EMAIL else member.phone,
                    subject="", body="", context=contexts[index], send_after=send_after, created_at=now,
                )
            )  # fmt: skip
    if not rows:
        return 0
    with transaction.atomic(savepoint=False):  # inside the event's transaction: no savepoint of its own
        Message.objects.bulk_create(rows, ignore_conflicts=True)
        transaction.on_commit(send_due_soon, robust=True)
    return len(rows)


def messages_retry(*, message_ids: Sequence[int]) -> int:
    """Queue failed or cancelled messages again (staff, from the message log); still only where allowed."""
    count = Message.objects.filter(
        pk__in=message_ids, status__in=[MessageStatus.FAILED, MessageStatus.CANCELLED]
    ).update(status=MessageStatus.QUEUED, send_after=timezone.now(), attempts=0, error="")
    if count:
        transaction.on_commit(send_due_soon, robust=True)
    return count


# --- Asking a worker to send ------------------------------------------------------------------------------


class SendDueTask(Protocol):
    """The Celery task that sends every due message (``members.tasks.send_due_messages``)."""

    @property
    def app(self) -> Any: ...

    def delay(self, *args: Any, **kwargs: Any) -> Any: ...

    def apply_async(self, *args: Any, **kwargs: Any) -> Any: ...


_send_due_task: list[SendDueTask] = []


def messages_sender_register(task: SendDueTask) -> None:
    """Name the task that sends due messages: ``members.tasks`` registers it when it is imported (by
    ``MembersConfig.ready``), so queueing asks a worker to send without importing the tasks."""
    _send_due_task[:] = [task]


def send_due_soon() -> None:
    """Ask a worker to send what is due, after a commit that queued messages.

    Under load many orders commit every second and one sweep sends everything due, so a process asks for a
    sweep at most once every ``SEND_SOON`` seconds, that far ahead: a message committed meanwhile is due by
    the time the sweep runs (the beat's sweep every minute catches anything else).
    """
    if not _send_due_task:
        logger.warning("No task sends messages (members.tasks not loaded); the beat's sweep will send them.")
        return
    task = _send_due_task[0]
    if task.app.conf.task_always_eager:
        task.delay()  # in-process mode (make run, the tests): send at once
    elif cache.add(SEND_SOON_KEY, True, timeout=SEND_SOON):
        task.apply_async(countdown=SEND_SOON)
