"""Celery tasks. They take ids, load, and call a service.

In development and tests ``CELERY_TASK_ALWAYS_EAGER`` runs ``.delay`` inline (at commit); there a
failed webhook delivery is not re-enqueued from inside the task (an eager ``apply_async`` would run
at once, recursing without waiting for the countdown). Its retry is left to ``webhooks_retry_due``,
which runs on the beat schedule (``CELERY_BEAT_SCHEDULE`` in ``config/settings/base.py``).
"""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task

from config.celery import RETRY_TRANSIENT
from loyalty.campaigns.birthdays import birthday_bonuses
from loyalty.events.delivery import webhook_deliver, webhooks_due
from loyalty.events.outbox import delivery_sender_register as _sender_register
from loyalty.ledger import expiry_warn, points_expire
from loyalty.replenishment import replenishment_remind
from loyalty.rewards import EXPIRE_BATCH, redemptions_expire, winback_send
from loyalty.tiers import pending_points_confirm, tier_review

logger = logging.getLogger(__name__)


# --- Outbound webhooks ------------------------------------------------------------------------------


@shared_task(bind=True, name="loyalty.deliver_webhook", ignore_result=True, **RETRY_TRANSIENT)
def deliver_webhook(self: Any, delivery_id: int) -> str:
    """Send one attempt of a webhook delivery; on failure, schedule the next one (not in eager mode)."""
    outcome = webhook_deliver(delivery_id=delivery_id)
    if outcome.status == "retry" and outcome.retry_in is not None and not self.request.is_eager:
        # If this enqueue is lost (broker hiccup, worker crash), the sweep still finds the delivery due.
        deliver_webhook.apply_async((delivery_id,), countdown=outcome.retry_in)
    if outcome.status == "failed":
        logger.warning("Webhook delivery %s failed for 24 hours; gave up.", delivery_id)
    return outcome.status


def delivery_sender_register() -> None:
    """Have the outbox send each new delivery through ``deliver_webhook`` once its transaction commits."""
    _sender_register(_deliver_soon)


def _deliver_soon(delivery_id: int) -> None:
    deliver_webhook.delay(delivery_id)


@shared_task(name="loyalty.webhooks_retry_due", ignore_result=True, **RETRY_TRANSIENT)
def webhooks_retry_due() -> int:
    """Beat: re-enqueue pending deliveries whose next attempt is due (retries, lost or crashed tasks)."""
    ids = webhooks_due()
    for delivery_id in ids:
        deliver_webhook.delay(delivery_id)
    return len(ids)


# --- Scheduled jobs (beat schedule in settings; also management commands) ---------------------------------


@shared_task(name="loyalty.points_expire", ignore_result=True, **RETRY_TRANSIENT)
def points_expire_task() -> None:
    points_expire()


@shared_task(name="loyalty.redemptions_expire", ignore_result=True, **RETRY_TRANSIENT)
def redemptions_expire_task() -> int:
    """Beat: give back the points of checkout reservations whose time is up, a batch at a time until none is due."""
    released = total = redemptions_expire()
    while released == EXPIRE_BATCH:
        released = redemptions_expire()
        total += released
    return total


@shared_task(name="loyalty.points_confirm", ignore_result=True, **RETRY_TRANSIENT)
def points_confirm_task() -> None:
    """Beat: pending points whose return window has passed become spendable."""
    pending_points_confirm()


@shared_task(name="loyalty.expiry_warn", ignore_result=True, **RETRY_TRANSIENT)
def expiry_warn_task() -> None:
    expiry_warn()


@shared_task(name="loyalty.tier_review", ignore_result=True, **RETRY_TRANSIENT)
def tier_review_task() -> None:
    tier_review()


@shared_task(name="loyalty.winback", ignore_result=True, **RETRY_TRANSIENT)
def winback_task() -> None:
    winback_send()


@shared_task(name="loyalty.birthday_bonuses", ignore_result=True, **RETRY_TRANSIENT)
def birthday_bonuses_task() -> None:
    birthday_bonuses()


@shared_task(name="loyalty.replenishment_remind", ignore_result=True, **RETRY_TRANSIENT)
def replenishment_remind_task() -> None:
    """Beat: send the replenishment reminders that are due (each once, however often it runs)."""
    replenishment_remind()
