from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty programme")

    def ready(self) -> None:
        # Imported here, once the app registry is ready (these modules import models): registration only.
        from corsheaders.signals import check_request_enabled
        from django.db.models.signals import post_migrate

        from loyalty import receivers, tasks
        from loyalty.embed.cors import origin_allowed
        from loyalty.events.subscribers import subscribers_install
        from loyalty.messages import loyalty_message_kinds_register
        from loyalty.privacy import loyalty_erase, loyalty_export
        from loyalty.replenishment import replenishment_subscribe
        from members import privacy, signals

        subscribers_install()  # webhooks, member messages and tier history follow emit()
        replenishment_subscribe()  # recorded orders schedule and cancel replenishment reminders
        tasks.delivery_sender_register()  # the outbox hands deliveries to the Celery task
        loyalty_message_kinds_register()
        privacy.register(name="loyalty", exporter=loyalty_export, eraser=loyalty_erase)
        signals.member_joined.connect(receivers.member_joined, dispatch_uid="loyalty.action_signup")
        signals.profile_saved.connect(receivers.profile_saved, dispatch_uid="loyalty.action_profile")
        check_request_enabled.connect(origin_allowed, dispatch_uid="loyalty.embed_origins")
        post_migrate.connect(receivers.roles_sync, sender=self, dispatch_uid="loyalty.roles_sync")
