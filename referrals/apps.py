from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Referrals")

    def ready(self) -> None:
        # Imported here, once the app registry is ready (these modules import models): registration only.
        from django.db.models.signals import post_save

        from config.snapshots import config_watch
        from loyalty import hooks
        from loyalty.api.errors import error_status_register
        from members import privacy
        from members.models import Member
        from referrals import demo, discounts, events, receivers, selectors, services
        from referrals.errors import ReferralRefused
        from referrals.messages import referral_message_kinds_register
        from referrals.models import ReferralProgramme
        from referrals.privacy import referrals_erase, referrals_export

        hooks.on_order_recorded(services.referral_on_order)
        hooks.on_refund_recorded(services.referral_on_refund)
        hooks.on_member_enrolled(services.referral_on_enrol)
        hooks.on_dashboard_funnel(selectors.referral_funnel_rows)
        hooks.on_segment_referrals(selectors.segment_referral_members)
        hooks.on_referral_path(services.member_referral_path)
        hooks.on_voucher_lookup(discounts.friend_code_check)
        hooks.on_demo_seed(demo.referrals_seed_demo)
        referral_message_kinds_register()
        privacy.register(name="referrals", exporter=referrals_export, eraser=referrals_erase)
        error_status_register(ReferralRefused.code, 422)  # every refusal (a subclass answers with its base's)
        events.subscribers_install()
        post_save.connect(receivers.member_code_give, sender=Member, dispatch_uid="referrals.member_code")
        # The widget keeps members' summaries, with their referral links, under this count of settings changes.
        config_watch(sources=[ReferralProgramme])
