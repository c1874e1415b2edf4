from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty programme")

    def ready(self) -> None:
        from loyalty import tasks  # registers the webhook delivery task with the outbox
        from loyalty.events.subscribers import subscribers_install
        from loyalty.privacy import loyalty_erase, loyalty_export

        subscribers_install()
        tasks.delivery_sender_register()
        from members import privacy

        privacy.register(name="loyalty", exporter=loyalty_export, eraser=loyalty_erase)

        from loyalty.messages import loyalty_message_kinds_register

        loyalty_message_kinds_register()

        from members import signals

        signals.member_joined.connect(_member_joined, dispatch_uid="loyalty.action_signup")
        signals.profile_saved.connect(_profile_saved, dispatch_uid="loyalty.action_profile")

        from django.db.models.signals import post_migrate

        post_migrate.connect(_roles_sync, sender=self, dispatch_uid="loyalty.roles_sync")


def _roles_sync(sender: object, **kwargs: object) -> None:
    """Keep the Support and Programme manager groups' permissions as ``loyalty.roles`` lists them."""
    from django.contrib.auth.models import Group, Permission

    from loyalty.roles import staff_groups_sync

    staff_groups_sync(group_model=Group, permission_model=Permission)


def _member_joined(sender: type, member: object, **kwargs: object) -> None:
    from loyalty.campaigns.actions import member_joined_points

    member_joined_points(member=member)  # type: ignore[arg-type]


def _profile_saved(sender: type, member: object, **kwargs: object) -> None:
    from loyalty.campaigns.actions import profile_saved_points

    profile_saved_points(member=member)  # type: ignore[arg-type]
