from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty programme")

    def ready(self) -> None:
        from loyalty.privacy import loyalty_erase, loyalty_export
        from members import privacy

        privacy.register(name="loyalty", exporter=loyalty_export, eraser=loyalty_erase)

        from members import signals

        signals.member_joined.connect(_member_joined, dispatch_uid="loyalty.action_signup")
        signals.profile_saved.connect(_profile_saved, dispatch_uid="loyalty.action_profile")


def _member_joined(sender: type, member: object, **kwargs: object) -> None:
    from loyalty.services.actions import member_joined_points

    member_joined_points(member=member)  # type: ignore[arg-type]


def _profile_saved(sender: type, member: object, **kwargs: object) -> None:
    from loyalty.services.actions import profile_saved_points

    profile_saved_points(member=member)  # type: ignore[arg-type]
