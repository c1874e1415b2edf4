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
