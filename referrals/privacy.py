"""The referral programme's part of a member's data export and account erasure (registered in ``ReferralsConfig``).

Erasure keeps the referrals themselves (the referrer's rewards and the programme's figures rest on them) but wipes
what identified the person at sign-up: the address and browser a referred friend signed up from, and the addresses
and browsers of the clicks on the member's own link, whose code stops working. The friend's discount keeps only a
hash of the mailbox, which names no one and must outlive the account (one discount per mailbox).
"""

from __future__ import annotations

from typing import Any

from members.models import Member
from referrals.models import FriendDiscount, Referral, ReferralClick, ReferralCode


def referrals_export(member: Member) -> dict[str, Any]:
    code = ReferralCode.objects.filter(member=member).first()
    referred_by = Referral.objects.filter(friend=member).first()
    return {
        "referral_code": code.code if code else None,
        "referrals_made": [
            {"status": referral.status, "joined": referral.created_at.isoformat(), "source": referral.source}
            for referral in Referral.objects.filter(referrer=member).order_by("created_at")
        ],
        "referred": (
            {
                "status": referred_by.status,
                "joined": referred_by.created_at.isoformat(),
                "source": referred_by.source,
                "signup_ip": referred_by.signup_ip,
                "signup_user_agent": referred_by.signup_user_agent,
            }
            if referred_by
            else None
        ),
        "friend_discounts": [
            {
                "code": discount.code,
                "kind": discount.kind,
                "value": str(discount.value),
                "minimum_order": str(discount.minimum_order),
                "currency": discount.currency,
                "status": discount.status,
                "expires_at": discount.expires_at.isoformat(),
            }
            for discount in FriendDiscount.objects.filter(referral__friend=member).order_by("created_at")
        ],
    }


def referrals_erase(member: Member) -> None:
    Referral.objects.filter(friend=member).update(signup_ip=None, signup_user_agent="")
    ReferralClick.objects.filter(code__member=member).update(ip_address=None, user_agent="")
    ReferralCode.objects.filter(member=member).update(is_active=False)  # no one joins through a deleted account
