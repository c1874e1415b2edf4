"""How replenishment reminders worked: sent in a period, and how many an order of the same SKU followed within
``FOLLOW_UP_DAYS`` (recorded on the reminder when that order came). One aggregate query."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from loyalty.models import ReminderStatus, ReplenishmentReminder


@dataclass(frozen=True)
class RuleResult:
    rule: str
    sent: int
    followed: int


def replenishment_results(*, start: dt.datetime, end: dt.datetime) -> list[RuleResult]:
    """Per rule, by name: reminders sent in ``[start, end)`` and how many an order with their SKU followed."""
    rows = (
        ReplenishmentReminder.objects.filter(status=ReminderStatus.SENT, sent_at__gte=start, sent_at__lt=end)
        .values("rule__name")
        .annotate(sent=Count("pk"), followed=Count("pk", filter=Q(followed_by__isnull=False)))
        .order_by("rule__name")
    )
    return [RuleResult(rule=row["rule__name"], sent=row["sent"], followed=row["followed"]) for row in rows]
