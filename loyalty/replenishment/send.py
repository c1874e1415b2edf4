"""Sending due replenishment reminders: the job run by Celery beat and ``manage.py replenishment_remind``.

Set-based like the other scheduled jobs: due reminders are read a batch of ids at a time, and each batch is one
short transaction. In it each reminder is claimed by a conditional UPDATE (``scheduled`` to ``sent`` or
``skipped``, which only one transaction can make), and the claimed ones' messages are queued, keyed by the
reminder: a run at the same time as another, or after one that crashed (its transaction rolled back, nothing
claimed), sends every reminder once. The messages go by email or SMS as the member's consents allow, SMS
outside quiet hours (``members.messaging``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from loyalty.messages import LoyaltyMessage
from loyalty.models import ReminderStatus, ReplenishmentReminder
from members.messaging import Outgoing, channels_for, in_member_language, messages_queue

BATCH = settings.KLUBB_JOB_BATCH


@dataclass(frozen=True)
class RemindResult:
    sent: int = 0
    skipped: int = 0  # the rule was switched off, or the member cannot be reached (no consent, erased)


def replenishment_remind(*, now: dt.datetime | None = None, batch: int = BATCH) -> RemindResult:
    """Send every reminder due by ``now``; safe to run again, and at the same time as another run."""
    now = now or timezone.now()
    due = ReplenishmentReminder.objects.filter(status=ReminderStatus.SCHEDULED, due_at__lte=now)
    sent = skipped = last = 0
    while True:
        ids = list(due.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return RemindResult(sent=sent, skipped=skipped)
        last = ids[-1]
        batch_sent, batch_skipped = _batch_send(ids=ids, now=now)
        sent, skipped = sent + batch_sent, skipped + batch_skipped


def _claim(reminder: ReplenishmentReminder, status: str, now: dt.datetime) -> bool:
    """Move the reminder out of ``scheduled``; ``False`` when another run (or a repeat purchase) got there first."""
    fields = {"sent_at": now} if status == ReminderStatus.SENT else {}
    return bool(
        ReplenishmentReminder.objects.filter(pk=reminder.pk, status=ReminderStatus.SCHEDULED).update(
            status=status, **fields
        )
    )


def _batch_send(*, ids: list[int], now: dt.datetime) -> tuple[int, int]:
    kind = LoyaltyMessage.REPLENISHMENT
    with transaction.atomic():
        reminders = list(
            ReplenishmentReminder.objects.select_related("rule", "member__user")
            .filter(pk__in=ids, status=ReminderStatus.SCHEDULED)
            .order_by("pk")
        )
        sending, skipped = [], 0
        for reminder in reminders:
            reachable = reminder.rule.is_active and bool(channels_for(member=reminder.member, kind=kind))
            status = ReminderStatus.SENT if reachable else ReminderStatus.SKIPPED
            if not _claim(reminder, status, now):
                continue
            if reachable:
                sending.append(reminder)
            else:
                skipped += 1
        messages_queue(
            kind=kind,
            members=[reminder.member for reminder in sending],
            items=[
                Outgoing(
                    member_id=reminder.member_id,
                    key=f"replenishment:{reminder.pk}",
                    context={
                        "product": reminder.name or reminder.sku,
                        "url": reminder.url,
                        "text": in_member_language(reminder.rule, "message"),
                    },
                )
                for reminder in sending
            ],
            now=now,
        )
    return len(sending), skipped
