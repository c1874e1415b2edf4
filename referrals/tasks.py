from __future__ import annotations

from celery import shared_task

from config.celery import RETRY_TRANSIENT
from referrals.services import referrals_reward_due


@shared_task(name="referrals.reward_due", ignore_result=True, **RETRY_TRANSIENT)
def reward_due() -> int:
    """Pay referrers whose friend's qualifying order has passed the return window (idempotent)."""
    return referrals_reward_due()
