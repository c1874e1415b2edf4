"""Replenishment reminders: staff say how long a product lasts, and a member who bought it is reminded before
it runs out.

Written only by ``loyalty.replenishment`` (scheduling on an order, cancelling on a repeat purchase, sending).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from loyalty.models.orders import Order
from members.models import Member

ITEM_URL_MAX_LENGTH = 500  # an order item's optional product address


def product_url_valid(value: object) -> bool:
    """Whether ``value`` may be an order item's product address (a reminder's link): http or https with a host, at
    most ``ITEM_URL_MAX_LENGTH`` characters, no spaces or control characters (it goes into emails and SMS as is)."""
    if not isinstance(value, str) or not value or len(value) > ITEM_URL_MAX_LENGTH:
        return False
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # a malformed port or IPv6 address
        return False
    return parts.scheme in ("http", "https") and bool(host)


@deconstructible
class ProductURLValidator:
    """``product_url_valid``, as a validator: ``invalid``, with Django's "Enter a valid URL."."""

    def __call__(self, value: object) -> None:
        if not product_url_valid(value):
            raise ValidationError(URLValidator.message, code="invalid")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ProductURLValidator)

    def __hash__(self) -> int:
        return hash(ProductURLValidator)


class ReplenishmentRule(models.Model):
    """How long one product (by SKU) or a category of products lasts, and when before that to remind.

    An order item matches the rule of its SKU, else the rule of its category; one reminder per item.
    """

    name = models.CharField(_("name"), max_length=100, help_text=_("For staff, e.g. 'Vitamins, 30 days'."))
    sku = models.CharField(
        _("SKU"), max_length=100, blank=True, help_text=_("The product's SKU. Fill in this or a category.")
    )
    category = models.CharField(
        _("category"), max_length=100, blank=True, help_text=_("The shop's category (product type) of the products.")
    )
    interval_days = models.PositiveIntegerField(
        _("lasts (days)"),
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Days after an order the product usually runs out, e.g. 30 for vitamins, 90 for water filters."),
    )
    remind_days_before = models.PositiveIntegerField(
        _("remind (days before)"),
        default=5,
        validators=[MaxValueValidator(3650)],
        help_text=_("How many days before it runs out the member is reminded."),
    )
    message = models.TextField(
        _("message"),
        blank=True,
        help_text=_("A line of your own in the reminder, per language, e.g. 'Order before Friday for free shipping.'"),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("replenishment rule")
        verbose_name_plural = _("replenishment rules")
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(sku="") & ~models.Q(category="")) | (~models.Q(sku="") & models.Q(category="")),
                name="replenishmentrule_sku_or_category",
            ),
            models.CheckConstraint(
                condition=models.Q(remind_days_before__lt=models.F("interval_days")),
                name="replenishmentrule_remind_within_interval",
            ),
            models.UniqueConstraint(fields=["sku"], condition=~models.Q(sku=""), name="replenishmentrule_sku_unique"),
            models.UniqueConstraint(
                fields=["category"], condition=~models.Q(category=""), name="replenishmentrule_category_unique"
            ),
        ]

    def __str__(self) -> str:
        return str(self.name)

    def clean(self) -> None:
        if bool(self.sku) == bool(self.category):
            raise ValidationError(_("Fill in either a SKU or a category."))
        lasts, before = self.interval_days, self.remind_days_before
        if lasts is not None and before is not None and before >= lasts:
            raise ValidationError({"remind_days_before": _("Remind fewer days before than the product lasts.")})


class ReminderStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Sent")
    CANCELLED = "cancelled", _("Cancelled (bought again)")
    SKIPPED = "skipped", _("Skipped (no way to reach the member)")
    RETURNED = "returned", _("Cancelled (sent back)")


class ReplenishmentReminder(models.Model):
    """One order item's reminder to one member. ``(order, sku)`` is unique: an order item schedules one reminder,
    however often its order is replayed; sending moves ``scheduled`` to ``sent`` by a conditional UPDATE."""

    member = models.ForeignKey(
        Member, on_delete=models.CASCADE, related_name="replenishment_reminders", verbose_name=_("member")
    )
    rule = models.ForeignKey(
        ReplenishmentRule, on_delete=models.CASCADE, related_name="reminders", verbose_name=_("rule")
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+", verbose_name=_("order"))
    sku = models.CharField(_("SKU"), max_length=100)
    name = models.CharField(_("product"), max_length=255, blank=True)
    url = models.CharField(
        _("product address"), max_length=ITEM_URL_MAX_LENGTH, blank=True, validators=[ProductURLValidator()]
    )
    due_at = models.DateTimeField(_("due"))
    status = models.CharField(
        _("status"), max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.SCHEDULED
    )
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("cancelled by order")
    )
    # The first order of the same SKU within ``FOLLOW_UP`` days after the reminder was sent (the dashboard's share).
    followed_by = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("followed by order")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("replenishment reminder")
        verbose_name_plural = _("replenishment reminders")
        ordering = ["-due_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="replenishmentreminder_order_sku_unique"),
            models.CheckConstraint(
                condition=models.Q(status="sent", sent_at__isnull=False) | ~models.Q(status="sent"),
                name="replenishmentreminder_sent_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "due_at"], name="replenishment_due_idx"),
            models.Index(fields=["member", "sku", "status"], name="replenishment_member_sku_idx"),
            models.Index(fields=["sent_at"], name="replenishment_sent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.sku} ({self.get_status_display()})"
