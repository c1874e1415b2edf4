"""The points engine's data: programme settings, tiers, shops and their keys, orders, refunds and the ledger.

Only ``loyalty.services`` writes ledger entries and balances; see CONVENTIONS.md.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member


class Currency(models.TextChoices):
    NOK = "NOK", _("Norwegian krone")
    SEK = "SEK", _("Swedish krona")
    DKK = "DKK", _("Danish krone")
    EUR = "EUR", _("Euro")


class AmountBasis(models.TextChoices):
    """Which part of an order earns points. Shipping never does."""

    INCL_VAT = "incl_vat", _("Goods after discounts, without shipping, VAT included where prices include it")
    EXCL_VAT = "excl_vat", _("Goods after discounts, without shipping, without VAT")


class Programme(models.Model):
    """The club's settings. One club per installation: ``Programme.load()`` returns it."""

    name = models.CharField(_("name"), max_length=100, default="Klubb")
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.NOK)
    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=10,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Points for each whole unit of the qualifying amount, before tier multipliers; rounded down."),
    )
    amount_basis = models.CharField(
        _("amount that earns points"), max_length=16, choices=AmountBasis.choices, default=AmountBasis.INCL_VAT
    )
    tier_window_months = models.PositiveSmallIntegerField(
        _("tier window (months)"),
        null=True,
        blank=True,
        default=12,
        help_text=_("Tiers count points earned in this many months back. Leave empty to count all points ever earned."),
    )
    max_order_amount = models.DecimalField(
        _("largest accepted order amount"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000000"),
        help_text=_("Orders above this are refused as a likely error."),
    )

    class Meta:
        verbose_name = _("programme settings")
        verbose_name_plural = _("programme settings")

    def __str__(self) -> str:
        return str(self.name)

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> Programme:
        programme, _created = cls.objects.get_or_create(pk=1)
        return programme


colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))


class Tier(models.Model):
    """A level of the club, reached by qualifying points earned within the programme's window."""

    name = models.CharField(_("name"), max_length=50, unique=True)
    threshold = models.PositiveIntegerField(
        _("qualifying points needed"), unique=True, help_text=_("The lowest tier should need 0 points.")
    )
    multiplier = models.DecimalField(
        _("earning multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    benefits = models.TextField(_("benefits"), blank=True, help_text=_("One benefit per line, shown to members."))
    colour = models.CharField(_("colour"), max_length=7, default="#8c6239", validators=[colour_validator])

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["threshold"]

    def __str__(self) -> str:
        return str(self.name)

    @property
    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]


class Shop(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True, help_text=_("Used in webhook addresses."))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.NOK)
    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Leave empty to use the programme's rate. Set it when the shop sells in another currency."),
    )
    shopify_webhook_secret = models.CharField(_("Shopify webhook secret"), max_length=200, blank=True)
    woocommerce_webhook_secret = models.CharField(_("WooCommerce webhook secret"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]

    def __str__(self) -> str:
        return str(self.name)


class ApiKey(models.Model):
    """A shop's API key. Only its SHA-256 is stored; the key itself is shown once, at creation."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("shop"))
    name = models.CharField(_("name"), max_length=100, default="default")
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.shop})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ShopCustomer(models.Model):
    """A shop's own id for a member (its customer id), where the shop told us."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customers")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="shop_customers")
    external_id = models.CharField(_("shop's customer id"), max_length=100)

    class Meta:
        verbose_name = _("shop customer id")
        verbose_name_plural = _("shop customer ids")
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="shopcustomer_external_id_unique"),
            models.UniqueConstraint(fields=["shop", "member"], name="shopcustomer_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.shop}: {self.external_id}"


class PointsAccount(models.Model):
    """A member's balance and tier. Changed only by ``loyalty.services`` in the transaction that
    appends the ledger entry, under a row lock on this row."""

    member = models.OneToOneField(
        Member, on_delete=models.PROTECT, primary_key=True, related_name="points", verbose_name=_("member")
    )
    balance = models.BigIntegerField(_("balance"), default=0)
    tier = models.ForeignKey(
        Tier, null=True, blank=True, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("tier")
    )
    tier_since = models.DateTimeField(_("tier since"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("points account")
        verbose_name_plural = _("points accounts")

    def __str__(self) -> str:
        return f"{self.member_id}: {self.balance}"


class OrderSource(models.TextChoices):
    API = "api", _("Shop API")
    SHOPIFY = "shopify", _("Shopify")
    WOOCOMMERCE = "woocommerce", _("WooCommerce")
    IMPORT = "import", _("Import")


class Order(models.Model):
    """An order a shop reported. ``(shop, external_id)`` is the idempotency key."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="orders", verbose_name=_("shop"))
    external_id = models.CharField(_("order id"), max_length=100)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="orders", verbose_name=_("member"))
    amount = models.DecimalField(_("qualifying amount"), max_digits=14, decimal_places=2)
    tax = models.DecimalField(_("VAT in amount"), max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    occurred_at = models.DateTimeField(_("ordered"))
    items = models.JSONField(_("items"), default=list, blank=True)
    source = models.CharField(_("source"), max_length=16, choices=OrderSource.choices, default=OrderSource.API)
    fingerprint = models.CharField(max_length=64, editable=False)
    points_awarded = models.BigIntegerField(_("points awarded"), default=0)
    tier_points_awarded = models.BigIntegerField(_("tier points awarded"), default=0)
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
        ]
        indexes = [models.Index(fields=["member", "-occurred_at"], name="order_member_occurred_idx")]

    def __str__(self) -> str:
        return f"{self.shop} #{self.external_id}"


class Refund(models.Model):
    """A refund of (part of) an order. ``(shop, external_id)`` is the idempotency key."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("shop"))
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds", verbose_name=_("order"))
    external_id = models.CharField(_("refund id"), max_length=100)
    amount = models.DecimalField(_("refunded amount"), max_digits=14, decimal_places=2)
    source = models.CharField(_("source"), max_length=16, choices=OrderSource.choices, default=OrderSource.API)
    fingerprint = models.CharField(max_length=64, editable=False)
    points_clawed_back = models.BigIntegerField(_("points clawed back"), default=0)
    response = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "external_id"], name="refund_shop_external_id_unique"),
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.shop} refund {self.external_id}"


class ImmutableEntryError(Exception):
    """Ledger entries are never changed or deleted; append a correcting entry instead."""


class LedgerEntryQuerySet(models.QuerySet["LedgerEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise ImmutableEntryError("Ledger entries cannot be updated.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableEntryError("Ledger entries cannot be deleted.")


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    BONUS = "bonus", _("Bonus")
    REDEEM = "redeem", _("Redeemed")
    EXPIRE = "expire", _("Expired")
    ADJUST = "adjust", _("Adjustment")
    CLAWBACK = "clawback", _("Clawed back")


class LedgerEntry(models.Model):
    """One immutable movement of points.

    ``points`` is signed. ``balance_after`` is the member's balance once this entry applied, which
    makes every history row self-explanatory and lets ``check_ledger`` find the first broken row.
    ``tier_points`` is the part that counts towards tiers (base points from orders, less their
    clawbacks); spending or expiring points never lowers it.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="ledger", verbose_name=_("member"))
    kind = models.CharField(_("kind"), max_length=16, choices=EntryKind.choices)
    points = models.BigIntegerField(_("points"))
    balance_after = models.BigIntegerField(_("balance after"))
    tier_points = models.BigIntegerField(_("tier points"), default=0)
    effective_at = models.DateTimeField(_("effective"), default=timezone.now)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", verbose_name=_("order")
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="entries", verbose_name=_("refund")
    )
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("staff member"),
    )
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    corrects = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="corrections",
        verbose_name=_("corrects entry"),
    )
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects: ClassVar[LedgerEntryQuerySet] = LedgerEntryQuerySet.as_manager()  # type: ignore[assignment]

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["member", "-id"], name="entry_member_id_idx"),
            models.Index(fields=["member", "effective_at"], name="entry_member_effective_idx"),
            models.Index(fields=["kind", "created_at"], name="entry_kind_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="entry_points_non_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableEntryError("Ledger entries cannot be changed; append a correcting entry.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableEntryError("Ledger entries cannot be deleted; append a correcting entry.")


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
