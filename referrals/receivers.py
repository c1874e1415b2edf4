"""Referrals' receivers of Django signals; ``ReferralsConfig.ready`` connects them."""

from __future__ import annotations

from members.models import Member
from referrals.services import referral_code_for


def member_code_give(sender: type, instance: Member, created: bool, raw: bool = False, **kwargs: object) -> None:
    """Every member gets a referral code at enrolment, however they joined."""
    if created and not raw:
        referral_code_for(member=instance)
