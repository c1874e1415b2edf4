"""What shops report: orders and refunds (idempotent per shop) with their return reasons and returned lines, and the
platform webhooks that carry them."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.programme import Currency
from loyalty.models.shops import Shop
from loyalty.models.tiers import Tier
from members.models import Member


class OrderSource(models.TextChoices):
    API = "api", _("Shop API")
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    IMPORT = "import", _("Import")


class Order(models.Model):
    """An order a shop reported. ``(shop, external_id)`` is the idempotency key."""

    # No index of their own: (shop, external_id)'s unique index and ``order_member_occurred_idx`` lead with them.
    shop = models.ForeignKey(
        Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop"), db_index=False
    )
    external_id = models.CharField(_("order id"), max_length=100)
    member = models.ForeignKey(
        Member, on_delete=models.PROTECT, related_name="orders", verbose_name=_("member"), db_index=False
    )
    amount = models.DecimalField(_("qualifying amount"), max_digits=14, decimal_places=2)
    tax = models.DecimalField(_("VAT in amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    occurred_at = models.DateTimeField(_("ordered"))
    items = models.JSONField(_("items"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=OrderSource.choices, default=OrderSource.API)
    # Compared only among one member's orders (``order_member_occurred_idx`` finds them): no index of its own.
    address_fingerprint = models.CharField(
        _("shipping address fingerprint"), max_length=64, blank=True, default="", editable=False
    )
    fingerprint = models.CharField(max_length=64, editable=False)
    points_awarded = models.BigIntegerField(_("points awarded"), default=0)
    tier_points_awarded = models.BigIntegerField(_("tier points awarded"), default=0)
    # The tier the order earned at (its multiplier): revenue per tier counts the order there, whatever the
    # member's tier is today. Empty if that tier has been deleted since, or the member had none.
    tier = models.ForeignKey(
        Tier,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
        verbose_name=_("tier when ordered"),
    )
    refunded_amount = models.DecimalField(_("refunded amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    points_clawed_back = models.BigIntegerField(_("points clawed back"), default=0)
    tier_points_clawed_back = models.BigIntegerField(_("tier points clawed back"), default=0)
    response = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="order_shop_external_id_unique"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="order_amount_non_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__lte=models.F("amount")), name="order_refund_within_amount"
            ),
            models.CheckConstraint(
                condition=models.Q(points_clawed_back__lte=models.F("points_awarded")),
                name="order_clawback_within_award",
            ),
            models.CheckConstraint(
                condition=models.Q(tax__gte=0, tax__lte=models.F("amount")), name="order_tax_within_amount"
            ),
            models.CheckConstraint(condition=models.Q(refunded_amount__gte=0), name="order_refunded_non_negative"),
            models.CheckConstraint(
                condition=models.Q(points_awarded__gte=0, points_clawed_back__gte=0), name="order_points_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    tier_points_awarded__gte=0,
                    tier_points_clawed_back__gte=0,
                    tier_points_clawed_back__lte=models.F("tier_points_awarded"),
                ),
                name="order_tier_clawback_within_award",
            ),
        ]
        indexes = [
            models.Index(fields=["member", "-occurred_at"], name="order_member_occurred_idx"),
            # The staff dashboard's period figures
            models.Index(fields=["occurred_at"], name="order_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shop} #{self.external_id}"


class ReturnReason(models.Model):
    """Why goods came back: a code shops send (``too_small``), its label per language, kept by staff. A reason a
    refund names cannot be deleted, only made inactive (then shops can no longer send it)."""

    # The code platforms' free-text reasons are filed under (the text is kept as the refund's note).
    OTHER = "other"

    code = models.SlugField(_("code"), max_length=50, unique=True, help_text=_("What shops send, e.g. too_small."))
    label = models.CharField(_("label"), max_length=100)
    is_active = models.BooleanField(_("active"), default=True, help_text=_("Shops may send it with new refunds."))
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Lower comes first."))

    class Meta:
        verbose_name = _("return reason")
        verbose_name_plural = _("return reasons")
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label or self.code


class Refund(models.Model):
    """A refund of (part of) an order. ``(shop, external_id)`` is the idempotency key.

    ``occurred_at`` is when the refund happened (the shop's date); ``created_at`` when Klubb recorded it.
    """

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("shop"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    external_id = models.CharField(_("refund id"), max_length=100)
    amount = models.DecimalField(_("refunded amount"), max_digits=14, decimal_places=2)
    source = models.CharField(_("source"), max_length=16, choices=OrderSource.choices, default=OrderSource.API)
    fingerprint = models.CharField(max_length=64, editable=False)
    points_clawed_back = models.BigIntegerField(_("points clawed back"), default=0)
    reason = models.ForeignKey(
        ReturnReason,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        verbose_name=_("return reason"),
    )
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    response = models.JSONField(default=dict, editable=False)
    occurred_at = models.DateTimeField(_("refunded"), default=timezone.now)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="refund_shop_external_id_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(condition=models.Q(points_clawed_back__gte=0), name="refund_clawback_non_negative"),
        ]
        indexes = [
            # The dashboard's points flow counts a refund's clawback when the refund happened.
            models.Index(fields=["occurred_at"], name="refund_occurred_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.shop} refund {self.external_id}"


class RefundLine(models.Model):
    """Goods a refund returned: a product (SKU) of its order, how many, and the refund's money apportioned to it.
    Category and name are copied from the order's line, so returns aggregate per product and category."""

    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, related_name="lines", verbose_name=_("refund"))
    sku = models.CharField(_("SKU"), max_length=100)
    name = models.CharField(_("name"), max_length=255, blank=True, default="")
    category = models.CharField(_("category"), max_length=100, blank=True, default="")
    quantity = models.PositiveIntegerField(_("quantity"))
    amount = models.DecimalField(_("refunded amount"), max_digits=14, decimal_places=2)

    class Meta:
        verbose_name = _("returned line")
        verbose_name_plural = _("returned lines")
        ordering = ["refund", "id"]
        constraints = [
            models.UniqueConstraint(fields=["refund", "sku"], name="refund_line_sku_unique"),
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="refund_line_quantity_positive"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="refund_line_amount_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.sku}"


class InboundWebhook(models.Model):
    """A webhook a shop platform delivered, kept to drop redeliveries of the same webhook id."""

    class Status(models.TextChoices):
        PROCESSED = "processed", _("Processed")
        IGNORED = "ignored", _("Ignored")
        REJECTED = "rejected", _("Rejected")

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="inbound_webhooks")
    platform = models.CharField(_("platform"), max_length=16, choices=OrderSource.choices)
    webhook_id = models.CharField(_("webhook id"), max_length=200)
    topic = models.CharField(_("topic"), max_length=100)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    received_at = models.DateTimeField(_("received"), default=timezone.now)

    class Meta:
        verbose_name = _("received webhook")
        verbose_name_plural = _("received webhooks")
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform", "webhook_id"], name="inbound_webhook_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.platform} {self.topic} {self.webhook_id}"
