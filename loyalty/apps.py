from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty programme")

    def ready(self) -> None:
        from loyalty.portal import portal_standing
        from members.portal import register_standing_provider

        register_standing_provider(portal_standing)
