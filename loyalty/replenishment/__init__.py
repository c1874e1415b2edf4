"""Replenishment reminders: a member who bought something that runs out is reminded before it does.

Staff set a ``ReplenishmentRule`` per SKU or category: how many days the product lasts, how many days before
that to remind, and a line of text per language.

- ``schedule``: the subscribers to ``OrderRecorded`` and ``RefundRecorded`` (installed by
  ``replenishment_subscribe`` from ``LoyaltyConfig.ready``). In the order's transaction it cancels the member's
  scheduled reminders for the SKUs bought again, marks sent reminders this order followed (within
  ``FOLLOW_UP_DAYS``), and schedules one reminder per item a rule covers (unique per order and SKU, so a replayed
  order schedules nothing twice). In a refund's, it cancels the reminders of the goods sent back (all of the
  order's once it is wholly refunded).
- ``send``: ``replenishment_remind``, the job (Celery beat and ``manage.py replenishment_remind``) that sends due
  reminders. Each reminder is claimed by a conditional UPDATE from ``scheduled`` in the transaction that queues
  its message (keyed by the reminder), so two runs at once, or a run after a crashed one, never send it twice.
- ``results``: ``replenishment_results``, the dashboard's reminders sent and the share followed by an order.

Exports ``FOLLOW_UP_DAYS``, ``RemindResult``, ``RuleResult``, ``replenishment_remind``, ``replenishment_results`` and
``replenishment_subscribe``.
"""

from __future__ import annotations

from loyalty.replenishment.results import RuleResult, replenishment_results
from loyalty.replenishment.schedule import FOLLOW_UP_DAYS, replenishment_subscribe
from loyalty.replenishment.send import RemindResult, replenishment_remind

__all__ = [
    "FOLLOW_UP_DAYS",
    "RemindResult",
    "RuleResult",
    "replenishment_remind",
    "replenishment_results",
    "replenishment_subscribe",
]
