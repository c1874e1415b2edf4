"""What an order does to replenishment reminders, in the order's transaction (a subscriber to ``OrderRecorded``).

In the order's transaction rather than after it: the reminder exists exactly when its order does, a replayed
order (which emits nothing) schedules nothing, and a repeat purchase cancels the reminder before the job can
claim it: the job's claim and this cancellation both update the row only while it is ``scheduled``.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty.events import OrderRecorded, RefundRecorded, subscribe
from loyalty.models import ReminderStatus, ReplenishmentReminder, ReplenishmentRule

# A sent reminder counts as followed when the member orders the same SKU within this many days of it.
FOLLOW_UP_DAYS = 14
# Reminders fall due at this time of day in the member's time zone: never in the night, by email or SMS.
REMIND_AT = dt.time(10, 0)

Rules = dict[tuple[str, str], ReplenishmentRule]


def _rules_load() -> Rules:
    """The active rules by ``("sku", sku)`` and ``("category", name)``."""
    return {
        ("sku", rule.sku) if rule.sku else ("category", rule.category): rule
        for rule in ReplenishmentRule.objects.filter(is_active=True)
    }


# Every order looks its items up in the rules: kept per process for a few seconds (config/snapshots.py), so an
# order of items no rule covers costs no query at all.
_rules = Snapshot(_rules_load, sources=[ReplenishmentRule])


def replenishment_subscribe() -> None:
    """Have recorded orders schedule, cancel and follow up reminders, and refunds cancel the reminders of what came
    back (from ``LoyaltyConfig.ready``; idempotent)."""
    subscribe(OrderRecorded, orders_replenish)
    subscribe(RefundRecorded, refunds_replenish)


def refunds_replenish(events: Sequence[RefundRecorded]) -> None:
    """A member who sent a product back is not reminded to buy it again: a refund cancels its order's scheduled
    reminders for the SKUs it returned, or all of them once the whole order is refunded (one query per refund)."""
    for event in events:
        scheduled = ReplenishmentReminder.objects.filter(order=event.order, status=ReminderStatus.SCHEDULED)
        if event.order.refunded_amount < event.order.amount:
            if not event.skus:
                continue
            scheduled = scheduled.filter(sku__in=event.skus)
        _lock_in_claim_order(scheduled)
        scheduled.update(status=ReminderStatus.RETURNED)


def orders_replenish(events: Sequence[OrderRecorded]) -> None:
    """For each recorded order with items a rule covers: cancel, follow up and schedule its member's reminders
    (five queries per such order; none for an order of items no rule covers)."""
    rules = _rules.get()
    if not rules:
        return
    now = timezone.now()
    for event in events:
        covered = [(item, rule) for item in _items(event.order.items) if (rule := _rule_of(item, rules)) is not None]
        if covered:
            _bought_again(event=event, skus={item["sku"] for item, _rule in covered})
            _schedule(event=event, covered=covered, now=now)


def reminder_due(*, ordered_at: dt.datetime, rule: ReplenishmentRule, time_zone: str) -> dt.datetime:
    """When a reminder for an item ordered at ``ordered_at`` falls due: ``REMIND_AT`` on the day
    ``remind_days_before`` days before it runs out, in the member's time zone."""
    zone = _zone(time_zone)
    day = (ordered_at + dt.timedelta(days=rule.interval_days - rule.remind_days_before)).astimezone(zone).date()
    return dt.datetime.combine(day, REMIND_AT, tzinfo=zone)


def _zone(time_zone: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _items(stored: Any) -> list[dict[str, Any]]:
    """The order's items that name a SKU (the item a reminder is about), the first of each SKU."""
    seen: dict[str, dict[str, Any]] = {}
    for item in stored if isinstance(stored, list) else []:
        if isinstance(item, dict) and item.get("sku") and not item.get("gift_card"):
            seen.setdefault(str(item["sku"]), item)
    return list(seen.values())


def _rule_of(item: dict[str, Any], rules: Rules) -> ReplenishmentRule | None:
    """The rule of the item's SKU, else of its category."""
    return rules.get(("sku", item["sku"])) or rules.get(("category", str(item.get("category") or "")))


def _bought_again(*, event: OrderRecorded, skus: set[str]) -> None:
    """The member bought these SKUs (covered by an active rule): reminders of earlier orders not sent yet are no
    longer needed, and sent ones this order came within ``FOLLOW_UP_DAYS`` of were followed."""
    order, at = event.order, event.order.occurred_at
    mine = ReplenishmentReminder.objects.filter(member=event.member, sku__in=skus)
    _lock_in_claim_order(
        mine.filter(status__in=[ReminderStatus.SCHEDULED, ReminderStatus.SENT], followed_by__isnull=True)
    )
    mine.filter(status=ReminderStatus.SCHEDULED, order__occurred_at__lt=at).update(
        status=ReminderStatus.CANCELLED, cancelled_by=order
    )
    mine.filter(
        status=ReminderStatus.SENT,
        followed_by__isnull=True,
        sent_at__lte=at,
        sent_at__gt=at - dt.timedelta(days=FOLLOW_UP_DAYS),
    ).update(followed_by=order)


def _schedule(
    *, event: OrderRecorded, covered: list[tuple[dict[str, Any], ReplenishmentRule]], now: dt.datetime
) -> None:
    """One reminder per covered item, unless it has run out already or a later order of it has a reminder (an old
    order reported late)."""
    order, member = event.order, event.member
    later = set(
        ReplenishmentReminder.objects.filter(
            member=member, sku__in=[item["sku"] for item, _rule in covered], order__occurred_at__gt=order.occurred_at
        ).values_list("sku", flat=True)
    )
    reminders = []
    for item, rule in covered:
        if item["sku"] in later or order.occurred_at + dt.timedelta(days=rule.interval_days) <= now:
            continue
        reminders.append(
            ReplenishmentReminder(
                member=member,
                rule=rule,
                order=order,
                sku=item["sku"],
                name=str(item.get("name") or "")[:255],
                url=str(item.get("url") or ""),
                due_at=reminder_due(ordered_at=order.occurred_at, rule=rule, time_zone=member.time_zone),
                created_at=now,
            )
        )
    ReplenishmentReminder.objects.bulk_create(reminders, ignore_conflicts=True)


def _lock_in_claim_order(reminders: QuerySet[ReplenishmentReminder]) -> None:
    """Lock ``reminders`` in primary-key order, the order the reminder job claims them in, before an UPDATE changes
    them: an UPDATE locks in its index's order, and could deadlock with a job claiming the same rows."""
    list(reminders.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
