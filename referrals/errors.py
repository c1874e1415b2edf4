"""Refusals of a referral, raised by ``referrals.services``.

They are ``LoyaltyError``s, so the shop API answers them like any other domain error: a stable ``code``, a
message for people and the offending ``field``. Their HTTP status (422) is registered with the API by
``ReferralsConfig.ready`` (``loyalty.api.errors.error_status_register``); a subclass answers with its base's.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from loyalty.errors import LoyaltyError


class ReferralRefused(LoyaltyError):
    code = "referral_refused"
    default_message = _("This referral is not allowed.")
    default_field = "referral_code"


class ReferralCodeUnknown(ReferralRefused):
    code = "referral_code_unknown"
    default_message = _("No active referral code matches.")


class ReferralSelf(ReferralRefused):
    code = "referral_self"
    default_message = _("Members cannot refer themselves.")


class ReferralAlreadyMember(ReferralRefused):
    code = "referral_already_member"
    default_message = _("Only new customers can be referred: this person is already a member or has ordered before.")


class ReferralAlreadyReferred(ReferralRefused):
    code = "referral_already_referred"
    default_message = _("This person was already referred by someone.")
