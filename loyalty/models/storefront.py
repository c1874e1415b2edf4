"""A shop's storefront widget: the snippet in its theme that shows members their points where they shop."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.shops import Shop
from loyalty.models.tiers import colour_validator

PUBLISHABLE_KEY_PREFIX = "kpk_"
STOREFRONT_SECRET_PREFIX = "kss_"


class LauncherPosition(models.TextChoices):
    BOTTOM_RIGHT = "bottom-right", _("Bottom right")
    BOTTOM_LEFT = "bottom-left", _("Bottom left")


class Storefront(models.Model):
    """The widget's settings for one shop.

    The publishable key names the shop in the theme's ``<script>`` tag: it is public, and rotating it (or
    switching the storefront off) stops the widget. The storefront secret signs the signed-in customer's
    identity on the shop's server; Klubb keeps it to check signatures and shows it once, when made or rotated.
    """

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="storefront", verbose_name=_("shop"))
    publishable_key = models.CharField(_("publishable key"), max_length=40, unique=True, editable=False)
    secret = models.CharField(max_length=80, editable=False)
    secret_rotated_at = models.DateTimeField(_("secret made"), default=timezone.now, editable=False)
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("Switch off to stop the widget on the shop's pages at once.")
    )
    allowed_origins = models.TextField(
        _("allowed origins"),
        blank=True,
        help_text=_(
            "The shop's addresses that may show the widget, one per line, e.g. https://www.example.no. "
            "Requests from any other site are refused."
        ),
    )
    accent_colour = models.CharField(_("accent colour"), max_length=7, default="#1f6f5c", validators=[colour_validator])
    position = models.CharField(
        _("launcher position"), max_length=16, choices=LauncherPosition.choices, default=LauncherPosition.BOTTOM_RIGHT
    )
    join_url = models.URLField(
        _("join link"), blank=True, help_text=_("The shop's own sign-up page. Leave empty to use the club's portal.")
    )
    login_url = models.URLField(
        _("log-in link"), blank=True, help_text=_("The shop's own log-in page. Leave empty to use the club's portal.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("storefront widget")
        verbose_name_plural = _("storefront widgets")

    def __str__(self) -> str:
        return str(self.shop)

    @property
    def origins(self) -> set[str]:
        """The allowed origins, without trailing slashes."""
        return {line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()}
