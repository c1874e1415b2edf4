"""What the referral tests share: the programme's settings they assume, and a member's balance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyalty.models import PointsAccount
from members.models import Member
from referrals.models import ReferralProgramme


@pytest.fixture
def programme_settings(db):
    programme = ReferralProgramme.load()
    programme.friend_bonus, programme.referrer_reward = 200, 500
    programme.minimum_order, programme.confirmation_days = Decimal("300.00"), 14
    programme.save()
    return programme


def balance(member: Member) -> int:
    account = PointsAccount.objects.filter(member=member).first()
    return account.balance if account else 0
