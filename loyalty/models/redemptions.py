"""Points spent at a shop's checkout: a reservation held on the ledger until the order is placed or abandoned."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.ledger import LedgerEntry
from loyalty.models.programme import Currency
from loyalty.models.shops import Shop
from members.models import Member

# A checkout code: "KP" and 12 characters from the voucher alphabet (about 60 bits), unguessable, short enough to
# type into a shop's discount field, and without a dash: codes are matched with case, spaces and dashes ignored.
REDEMPTION_CODE_PREFIX = "KP"
REDEMPTION_CODE_LENGTH = 12


class RedemptionStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")


class Redemption(models.Model):
    """Points a member spends at a shop's checkout, reserved by the shop under its own ``redemption_id``.

    Reserving debits the points at once (``hold_entry``), so they leave the balance and no other spend can
    take them. Capturing (the order was placed) writes nothing more; releasing (the checkout was abandoned or
    timed out) credits them back into the lots they came from, as a ``return`` entry correcting the hold.
    A refund of the captured order gives back its share the same way (``points_returned``).
    """

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("shop"))
    external_id = models.CharField(_("shop's redemption id"), max_length=100)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="redemptions", verbose_name=_("member"))
    code = models.CharField(_("code"), max_length=32, unique=True, editable=False)
    points = models.PositiveIntegerField(_("points"))
    amount = models.DecimalField(_("amount"), max_digits=14, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    status = models.CharField(
        _("status"), max_length=16, choices=RedemptionStatus.choices, default=RedemptionStatus.RESERVED
    )
    hold_entry = models.OneToOneField(
        LedgerEntry, on_delete=models.PROTECT, related_name="redemption", verbose_name=_("hold entry")
    )
    expires_at = models.DateTimeField(_("reserved until"))
    order_id = models.CharField(_("order"), max_length=100, blank=True, help_text=_("The shop's order id."))
    points_returned = models.PositiveIntegerField(
        _("points returned"), default=0, help_text=_("Given back by a release or by refunds of the order.")
    )
    fingerprint = models.CharField(max_length=64, editable=False)
    response = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(_("reserved"), default=timezone.now)
    captured_at = models.DateTimeField(_("captured"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)

    class Meta:
        verbose_name = _("checkout redemption")
        verbose_name_plural = _("checkout redemptions")
        ordering = ["-created_at", "-id"]
        indexes = [
            # The expiry job's scan, and a refund's lookup of what its order spent.
            models.Index(fields=["expires_at"], condition=models.Q(status="reserved"), name="redemption_reserved_idx"),
            models.Index(fields=["shop", "order_id"], name="redemption_order_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="redemption_external_id_unique"),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="redemption_points_positive"),
            models.CheckConstraint(
                condition=models.Q(points_returned__lte=models.F("points")), name="redemption_returned_le_points"
            ),
            models.CheckConstraint(
                condition=models.Q(status="reserved", order_id="", captured_at__isnull=True, released_at__isnull=True)
                | (
                    models.Q(status="captured", captured_at__isnull=False, released_at__isnull=True)
                    & ~models.Q(order_id="")
                )
                | models.Q(
                    status="released",
                    released_at__isnull=False,
                    captured_at__isnull=True,
                    points_returned=models.F("points"),
                ),
                name="redemption_status_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.points})"
