"""How the activity list names each ledger entry to the member, in the member's language."""

from __future__ import annotations

from django import template

from loyalty.models import LedgerEntry

register = template.Library()

# The referral welcome bonus is the one referral entry a friend gets; its reason is fixed by referrals.services.
# (Until bonus entries carry their source in ``detail``, this wording is how the two referral bonuses differ.)
_FRIEND_WELCOME_REASON = "Welcome bonus for joining through a friend"


@register.filter
def bonus_source(entry: LedgerEntry) -> str:
    """Where a bonus came from: ``birthday``, ``referral_welcome`` (the friend's), ``referral_reward`` (the
    referrer's), or "" for a bonus the template names by its reason. The stored reason is English, for staff."""
    detail = entry.detail or {}
    if "birthday_year" in detail:
        return "birthday"
    if "referral_id" in detail:
        return "referral_welcome" if entry.reason == _FRIEND_WELCOME_REASON else "referral_reward"
    return ""
