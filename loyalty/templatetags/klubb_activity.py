"""How the activity list names each ledger entry to the member, in the member's language."""

from __future__ import annotations

from django import template

from loyalty.models import LedgerEntry

register = template.Library()

BONUS_SOURCES = frozenset({"birthday", "referral_welcome", "referral_reward"})


@register.filter
def bonus_source(entry: LedgerEntry) -> str:
    """Where a bonus came from (``detail["source"]``, written by the service that gave it): ``birthday``,
    ``referral_welcome`` (the friend's), ``referral_reward`` (the referrer's), or "" for a bonus the
    template names by its reason. The stored reason is English, for staff."""
    source = (entry.detail or {}).get("source", "")
    return source if source in BONUS_SOURCES else ""
