from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Referrals")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from loyalty import hooks
        from loyalty.api.errors import error_status_register
        from members.models import Member
        from referrals import events, selectors, services
        from referrals.errors import ReferralRefused
        from referrals.messages import referral_message_kinds_register

        hooks.on_order_recorded(services.referral_on_order)
        hooks.on_refund_recorded(services.referral_on_refund)
        hooks.on_member_enrolled(services.referral_on_enrol)
        hooks.on_dashboard_funnel(selectors.referral_funnel_rows)
        hooks.on_segment_referrals(selectors.segment_referral_members)
        referral_message_kinds_register()
        error_status_register(ReferralRefused.code, 422)  # every refusal (a subclass answers with its base's)
        events.subscribers_install()
        post_save.connect(_give_new_member_a_code, sender=Member, dispatch_uid="referrals.member_code")


def _give_new_member_a_code(sender: type, instance: object, created: bool, raw: bool = False, **kwargs: object) -> None:
    """Every member gets a referral code at enrolment, however they joined."""
    if created and not raw:
        from referrals.services import referral_code_for

        referral_code_for(member=instance)  # type: ignore[arg-type]
