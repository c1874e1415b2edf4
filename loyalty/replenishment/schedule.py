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
from django.db.models import Q
from django.utils import timezone

from loyalty.events import OrderRecorded, subscribe
from loyalty.models import ReminderStatus, ReplenishmentReminder, ReplenishmentRule

# A sent reminder counts as followed when the member orders the same SKU within this many days of it.
FOLLOW_UP_DAYS = 14
# Reminders fall due at this time of day in the member's time zone: never in the night, by email or SMS.
REMIND_AT = dt.time(10, 0)


def replenishment_subscribe() -> None:
    """Have recorded orders schedule, cancel and follow up reminders (from ``LoyaltyConfig.ready``; idempotent)."""
    subscribe(OrderRecorded, orders_replenish)


def orders_replenish(events: Sequence[OrderRecorded]) -> None:
    """For each recorded order: cancel, follow up and schedule its member's reminders (a few queries per order)."""
    now = timezone.now()
    items = {event.order.pk: _items(event.order.items) for event in events}
    rules = _rules_for([item for found in items.values() for item in found])
    for event in events:
        found = items[event.order.pk]
        if found:
            _bought_again(event=event, skus={item["sku"] for item in found})
            _schedule(event=event, items=found, rules=rules, now=now)


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


def _rules_for(items: list[dict[str, Any]]) -> dict[tuple[str, str], ReplenishmentRule]:
    """The active rules of these items' SKUs and categories, by ``("sku", sku)`` and ``("category", name)``."""
    skus = {item["sku"] for item in items}
    categories = {item.get("category") for item in items} - {None, ""}
    if not skus:
        return {}
    found = ReplenishmentRule.objects.filter(is_active=True).filter(
        Q(sku__in=skus) | Q(category__in=categories, sku="")
    )
    return {("sku", rule.sku) if rule.sku else ("category", rule.category): rule for rule in found}


def _bought_again(*, event: OrderRecorded, skus: set[str]) -> None:
    """The member bought these SKUs: reminders of earlier orders not sent yet are no longer needed, and sent ones
    this order came within ``FOLLOW_UP_DAYS`` of were followed."""
    order, at = event.order, event.order.occurred_at
    mine = ReplenishmentReminder.objects.filter(member=event.member, sku__in=skus)
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
    *,
    event: OrderRecorded,
    items: list[dict[str, Any]],
    rules: dict[tuple[str, str], ReplenishmentRule],
    now: dt.datetime,
) -> None:
    """One reminder per item a rule covers (its SKU's rule, else its category's), unless it has run out already or
    a later order of it has a reminder (an old order reported late)."""
    order, member = event.order, event.member
    later = set(
        ReplenishmentReminder.objects.filter(
            member=member, sku__in=[item["sku"] for item in items], order__occurred_at__gt=order.occurred_at
        ).values_list("sku", flat=True)
    )
    reminders = []
    for item in items:
        rule = rules.get(("sku", item["sku"])) or rules.get(("category", item.get("category") or ""))
        if rule is None or item["sku"] in later or order.occurred_at + dt.timedelta(days=rule.interval_days) <= now:
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
