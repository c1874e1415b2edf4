"""The points engine's data: programme settings, tiers, shops and their keys, orders, refunds and the ledger.

Only ``loyalty.services`` writes ledger entries and balances; see CONVENTIONS.md.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
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

    points_expire_months = models.PositiveSmallIntegerField(
        _("points expire after (months)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Points expire this many months after they were earned, oldest first. Empty: never."),
    )
    expiry_warning_days = models.PositiveSmallIntegerField(
        _("warn before expiry (days)"), default=30, help_text=_("Members are told this many days before points expire.")
    )
    tier_grace_days = models.PositiveSmallIntegerField(
        _("tier grace period (days)"),
        default=30,
        help_text=_(
            "A member below their tier keeps it this long before the tier review moves them down one level, "
            "and is never moved down this soon after moving up."
        ),
    )
    birthday_bonus = models.PositiveIntegerField(
        _("birthday bonus (points)"), default=0, help_text=_("Given on the member's birthday, once a year. 0: off.")
    )
    point_value = models.DecimalField(
        _("value of one point"),
        max_digits=10,
        decimal_places=4,
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What one point costs the club in its currency; the dashboard values outstanding points at it."),
    )
    support_adjust_limit = models.PositiveIntegerField(
        _("largest points adjustment by support"),
        default=500,
        help_text=_("Staff without the unlimited adjustment permission may add or remove at most this many points."),
    )

    class Meta:
        verbose_name = _("programme settings")
        verbose_name_plural = _("programme settings")
        permissions = [
            ("view_dashboard", _("Can view the staff dashboard")),
            ("adjust_points_unlimited", _("Can adjust points above the support limit")),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(points_per_unit__gte=0), name="programme_rate_non_negative"),
            models.CheckConstraint(condition=models.Q(max_order_amount__gt=0), name="programme_max_order_positive"),
        ]

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
        constraints = [
            models.CheckConstraint(condition=models.Q(multiplier__gte=0), name="tier_multiplier_non_negative"),
        ]

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
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points_per_unit__isnull=True) | models.Q(points_per_unit__gte=0),
                name="shop_rate_non_negative",
            ),
        ]

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
    below_tier_since = models.DateTimeField(
        _("below tier since"),
        null=True,
        blank=True,
        help_text=_("When the tier review first found the member's points below their tier; empty when they are not."),
    )
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
    address_fingerprint = models.CharField(
        _("shipping address fingerprint"), max_length=64, blank=True, default="", db_index=True, editable=False
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
            models.CheckConstraint(condition=models.Q(points_clawed_back__gte=0), name="refund_clawback_non_negative"),
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
            # Covers the tier window's sum (an index-only scan on PostgreSQL).
            models.Index(fields=["member", "effective_at", "tier_points"], name="entry_member_window_idx"),
            models.Index(fields=["kind", "created_at"], name="entry_kind_created_idx"),
            # The staff dashboard's period figures and points flow
            models.Index(fields=["created_at"], name="entry_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~models.Q(points=0), name="entry_points_non_zero"),
            models.CheckConstraint(condition=models.Q(kind__in=EntryKind.values), name="entry_kind_known"),
            # Only a clawback (of points already spent) may take a balance below zero; a credit may leave it there.
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0) | models.Q(points__gt=0) | models.Q(kind=EntryKind.CLAWBACK),
                name="entry_only_clawback_goes_negative",
            ),
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


# --- Rewards and vouchers ---------------------------------------------------------------------------
# Written only by ``loyalty.services.rewards`` (``reward_redeem``, ``voucher_use``, ``voucher_cancel``).

# No 0/O, 1/I/L: codes are read aloud and typed in at tills.
VOUCHER_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
VOUCHER_CODE_LENGTH = 10


class Reward(models.Model):
    """Something members spend points on; each redemption issues a ``Voucher``."""

    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    image_url = models.URLField(_("image address"), max_length=500, blank=True)
    points_cost = models.PositiveIntegerField(_("points cost"), validators=[MinValueValidator(1)])
    active_from = models.DateTimeField(_("available from"), null=True, blank=True)
    active_until = models.DateTimeField(_("available until"), null=True, blank=True)
    stock = models.PositiveIntegerField(
        _("stock"), null=True, blank=True, help_text=_("Vouchers left to issue. Leave empty for no limit.")
    )
    limit_per_member = models.PositiveIntegerField(
        _("limit per member"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("How many (not cancelled) vouchers one member may hold. Leave empty for no limit."),
    )
    allowed_tiers = models.ManyToManyField(
        Tier,
        blank=True,
        related_name="rewards",
        verbose_name=_("allowed tiers"),
        help_text=_("Leave empty to offer the reward to every tier."),
    )
    how_to_use = models.TextField(_("how to use"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["points_cost", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points_cost__gt=0), name="reward_points_cost_positive"),
            models.CheckConstraint(
                condition=models.Q(stock__isnull=True) | models.Q(stock__gte=0), name="reward_stock_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(limit_per_member__isnull=True) | models.Q(limit_per_member__gt=0),
                name="reward_limit_per_member_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(active_from__isnull=True)
                | models.Q(active_until__isnull=True)
                | models.Q(active_until__gt=models.F("active_from")),
                name="reward_active_period_ordered",
            ),
        ]

    def __str__(self) -> str:
        return str(self.name)

    def is_available_at(self, when: Any) -> bool:
        """Switched on and inside its period (``active_until`` is exclusive)."""
        if not self.is_active:
            return False
        if self.active_from is not None and when < self.active_from:
            return False
        return not (self.active_until is not None and when >= self.active_until)


class WinbackOffer(models.Model):
    """What a member who stopped shopping is offered: a single-use personal code, sent as a marketing message.

    The win-back job uses the newest active offer. Each member gets at most one code per ``repeat_days``.
    """

    name = models.CharField(_("name"), max_length=100, help_text=_("For staff, e.g. 'Winter win-back 2026'."))
    offer = models.CharField(
        _("offer"),
        max_length=200,
        help_text=_("What the member gets, e.g. a discount on their next order."),
    )
    how_to_use = models.TextField(_("how to use"), blank=True)
    inactive_days = models.PositiveIntegerField(
        _("inactive for (days)"),
        default=180,
        validators=[MinValueValidator(1)],
        help_text=_("Members with no order for this many days (since joining, if they never ordered) get the offer."),
    )
    repeat_days = models.PositiveIntegerField(
        _("at most once per (days)"), default=365, validators=[MinValueValidator(1)]
    )
    valid_days = models.PositiveIntegerField(_("code valid for (days)"), default=30, validators=[MinValueValidator(1)])
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("win-back offer")
        verbose_name_plural = _("win-back offers")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return str(self.name)


class VoucherStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    USED = "used", _("Used")
    CANCELLED = "cancelled", _("Cancelled")


class Voucher(models.Model):
    """A code the member shows a shop: a redeemed reward (paid for by ``redeem_entry``) or a win-back offer
    (free, personal, expiring)."""

    code = models.CharField(_("code"), max_length=VOUCHER_CODE_LENGTH, unique=True, editable=False)
    reward = models.ForeignKey(
        Reward, null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("reward")
    )
    winback_offer = models.ForeignKey(
        WinbackOffer,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="vouchers",
        verbose_name=_("win-back offer"),
    )
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="vouchers", verbose_name=_("member"))
    points = models.PositiveIntegerField(_("points paid"), help_text=_("What the reward cost when redeemed."))
    redeem_entry = models.OneToOneField(
        LedgerEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="voucher",
        verbose_name=_("redeem entry"),
    )
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=VoucherStatus.choices, default=VoucherStatus.ISSUED, db_index=True
    )
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_by_shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="vouchers_used", verbose_name=_("used at")
    )
    used_order_id = models.CharField(_("used on order"), max_length=100, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("cancelled by"),
    )
    cancel_entry = models.OneToOneField(
        LedgerEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="cancelled_voucher",
        verbose_name=_("refund entry"),
    )
    created_at = models.DateTimeField(_("issued"), default=timezone.now, db_index=True)
    # The portal's one-time form token: a double-clicked or resent "Redeem" returns the same voucher.
    request_key = models.CharField(_("request key"), max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "reward", "status"], name="voucher_member_reward_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["member", "request_key"], condition=~models.Q(request_key=""), name="voucher_request_key_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(
                    reward__isnull=False, redeem_entry__isnull=False, points__gt=0, winback_offer__isnull=True
                )
                | models.Q(winback_offer__isnull=False, reward__isnull=True, redeem_entry__isnull=True, points=0),
                name="voucher_paid_reward_or_winback",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="used")
                | (models.Q(used_at__isnull=False, used_by_shop__isnull=False) & ~models.Q(used_order_id="")),
                name="voucher_used_has_shop_and_order",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="cancelled") | models.Q(cancelled_at__isnull=False),
                name="voucher_cancelled_has_time",
            ),
        ]

    def __str__(self) -> str:
        return str(self.code)

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_valid(self) -> bool:
        return self.status == VoucherStatus.ISSUED and not self.is_expired

    @property
    def title(self) -> str:
        """What the code gives: the reward's name or the win-back offer."""
        return self.reward.name if self.reward_id else self.winback_offer.offer

    @property
    def how_to_use(self) -> str:
        return self.reward.how_to_use if self.reward_id else self.winback_offer.how_to_use


# --- Outbound webhooks ------------------------------------------------------------------------------
# Shops subscribe to club events; events go to an outbox in the transaction that caused them and are
# delivered by Celery (loyalty.tasks.deliver_webhook), retried with backoff for up to 24 hours.


class WebhookEventType(models.TextChoices):
    MEMBER_ENROLLED = "member.enrolled", _("Member enrolled")
    POINTS_CHANGED = "points.changed", _("Points changed")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    REWARD_REDEEMED = "reward.redeemed", _("Reward redeemed")
    REFERRAL_REWARDED = "referral.rewarded", _("Referral rewarded")


class WebhookSubscription(models.Model):
    """A shop's endpoint for club events. Events are club-wide: every active subscription to a type gets it."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="webhook_subscriptions", verbose_name=_("shop")
    )
    url = models.URLField(_("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    secret = models.CharField(_("signing secret"), max_length=200)
    events = models.JSONField(_("events"), default=list, help_text=_("Event types to send, e.g. points.changed."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering: ClassVar = ["shop_id", "pk"]

    def __str__(self) -> str:
        return f"{self.shop} → {self.url}"

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:8]}…" if self.secret else ""


class OutboxEvent(models.Model):
    """One club event, written in the transaction that caused it. ``event_id`` is what receivers dedupe by."""

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering: ClassVar = ["-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed (gave up)")


class WebhookDelivery(models.Model):
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering: ClassVar = ["-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once_per_subscription"),
        ]
        indexes: ClassVar = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"


# --- Points lots and scheduled jobs --------------------------------------------------------------------
# Written only by ``loyalty.services.ledger`` (with each entry) and ``loyalty.services.jobs``.


class PointsLot(models.Model):
    """Points from one credit entry, spent oldest first (FIFO) and expiring on their own date.

    For every member, the open lots' ``remaining`` add up to the balance when it is positive (and to 0
    when a clawback took it below zero); ``check_ledger`` proves it.
    """

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="points_lots")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.PositiveIntegerField(_("points"))
    remaining = models.PositiveIntegerField(_("remaining"))
    earned_at = models.DateTimeField(_("earned"))
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    warned_at = models.DateTimeField(_("expiry warning sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        ordering = ["member", "earned_at", "id"]
        indexes = [
            models.Index(
                fields=["expires_at", "member"], condition=models.Q(remaining__gt=0), name="lot_open_expiry_idx"
            ),
            models.Index(
                fields=["member", "earned_at", "id"], condition=models.Q(remaining__gt=0), name="lot_open_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("points")), name="lot_remaining_le_points"
            ),
            models.CheckConstraint(condition=models.Q(points__gt=0), name="lot_points_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points}"


class BirthdayBonus(models.Model):
    """One birthday bonus per member and year: the unique pair makes the job safe to run again."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="birthday_bonuses")
    year = models.PositiveSmallIntegerField(_("year"))
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("birthday bonus")
        verbose_name_plural = _("birthday bonuses")
        constraints = [models.UniqueConstraint(fields=["member", "year"], name="birthday_bonus_once_a_year")]

    def __str__(self) -> str:
        return f"{self.member_id} {self.year}"


# --- Earning rules, points for actions and segments ------------------------------------------------------
# Read by ``loyalty.services.earning`` (pure) and written to only through services and the admin.


class RuleKind(models.TextChoices):
    MULTIPLIER = "multiplier", _("Multiplier")
    BONUS = "bonus", _("Fixed bonus")


def codes_parse(text: str) -> frozenset[str]:
    """A comma-separated list of SKUs or categories, compared without case."""
    return frozenset(part.strip().casefold() for part in text.split(",") if part.strip())


class EarningRule(models.Model):
    """A campaign on top of the base rate: a multiplier or a fixed bonus, for a time and a part of the club.

    How rules stack is documented in ``loyalty.services.earning``.
    """

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=RuleKind.choices, default=RuleKind.MULTIPLIER)
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("2.00"),
        validators=[MinValueValidator(Decimal("1"))],
        help_text=_("For multipliers: 2 gives double base points on what the rule covers."),
    )
    bonus_points = models.PositiveIntegerField(
        _("bonus points"), default=0, help_text=_("For fixed bonuses: points once per qualifying order.")
    )
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True, help_text=_("Exclusive. Empty: no end."))
    priority = models.PositiveSmallIntegerField(
        _("priority"), default=100, help_text=_("Rules apply in this order, lowest first; then by age.")
    )
    tiers = models.ManyToManyField(
        Tier, blank=True, related_name="earning_rules", verbose_name=_("tiers"), help_text=_("Empty: every tier.")
    )
    shops = models.ManyToManyField(
        Shop, blank=True, related_name="earning_rules", verbose_name=_("shops"), help_text=_("Empty: every shop.")
    )
    categories = models.CharField(
        _("product categories"), max_length=500, blank=True, help_text=_("Comma-separated. Empty: every category.")
    )
    skus = models.CharField(_("SKUs"), max_length=1000, blank=True, help_text=_("Comma-separated. Empty: every SKU."))
    min_order_amount = models.DecimalField(_("minimum order"), max_digits=14, decimal_places=2, null=True, blank=True)
    cap_per_member = models.PositiveIntegerField(
        _("cap per member"),
        null=True,
        blank=True,
        help_text=_("Most points this rule gives one member in all. Empty: no cap."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__isnull=True) | models.Q(ends_at__gt=models.F("starts_at")),
                name="earning_rule_period_ordered",
            ),
            models.CheckConstraint(condition=models.Q(multiplier__gte=1), name="earning_rule_multiplier_at_least_1"),
        ]
        indexes = [models.Index(fields=["is_active", "starts_at"], name="earning_rule_active_idx")]

    def __str__(self) -> str:
        return str(self.name)


class EarningRuleUse(models.Model):
    """Points one rule gave on one order: what its cap per member counts (``points - clawed_back``).

    Written with the order's entry; a refund raises ``clawed_back`` by its share, as it claws the points back,
    so points a member did not keep do not use up the cap.
    """

    rule = models.ForeignKey(EarningRule, on_delete=models.PROTECT, related_name="uses")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="+")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="rule_uses")
    points = models.PositiveIntegerField(_("points"))
    clawed_back = models.PositiveIntegerField(_("points clawed back"), default=0)

    class Meta:
        verbose_name = _("earning rule use")
        verbose_name_plural = _("earning rule uses")
        constraints = [
            models.UniqueConstraint(fields=["rule", "order"], name="earning_rule_use_once_per_order"),
            models.CheckConstraint(
                condition=models.Q(clawed_back__lte=models.F("points")), name="earning_rule_use_clawback_within"
            ),
        ]
        indexes = [models.Index(fields=["rule", "member"], name="earning_rule_use_member_idx")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.order_id}: {self.points}"


class ActionKind(models.TextChoices):
    SIGNUP = "signup", _("Sign-up")
    PROFILE_COMPLETED = "profile_completed", _("Completed profile")
    EVENT = "event", _("Event reported by a shop")


class PointsAction(models.Model):
    """Points for something a member did besides buying. The birthday bonus stays in the programme settings
    (its job gives it once a year); these are sign-up, a completed profile and events shops report."""

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=20, choices=ActionKind.choices)
    event_type = models.SlugField(
        _("event type"),
        max_length=50,
        blank=True,
        help_text=_("For shop events: the type shops send to /api/v1/events/, e.g. product_review."),
    )
    points = models.PositiveIntegerField(_("points"), validators=[MinValueValidator(1)])
    limit_per_member = models.PositiveIntegerField(
        _("limit per member"), null=True, blank=True, help_text=_("Times one member can get it. Empty: no limit.")
    )
    limit_days = models.PositiveIntegerField(
        _("limit window (days)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Count the limit over this many days back. Empty: over all time."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("points for an action")
        verbose_name_plural = _("points for actions")
        ordering = ["kind", "event_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=~models.Q(kind="event"), name="points_action_one_per_builtin_kind"
            ),
            models.UniqueConstraint(
                fields=["event_type"], condition=models.Q(kind="event"), name="points_action_event_type_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(kind="event", event_type__gt="")
                | (~models.Q(kind="event") & models.Q(event_type="")),
                name="points_action_event_type_for_events",
            ),
        ]

    def __str__(self) -> str:
        return str(self.name)


class ActionAward(models.Model):
    """One time a member did an action: the idempotency record, with the points it gave (0 over the limit).

    ``key`` is unique per action and member (``signup``, ``profile``), and per shop for shop events.
    """

    action = models.ForeignKey(PointsAction, on_delete=models.PROTECT, related_name="awards")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="action_awards")
    shop = models.ForeignKey(Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="action_awards")
    key = models.CharField(_("idempotency key"), max_length=100)
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    points = models.PositiveIntegerField(_("points"), default=0)
    entry = models.OneToOneField(LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    response = models.JSONField(default=dict, editable=False)
    created_at = models.DateTimeField(_("recorded"), default=timezone.now)

    class Meta:
        verbose_name = _("action award")
        verbose_name_plural = _("action awards")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "member", "key"], condition=models.Q(shop__isnull=True), name="action_award_once"
            ),
            models.UniqueConstraint(
                fields=["shop", "key"], condition=models.Q(shop__isnull=False), name="action_award_shop_key_unique"
            ),
        ]
        indexes = [models.Index(fields=["action", "member", "created_at"], name="action_award_limit_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.member_id} {self.key}"


class ConsentFilter(models.TextChoices):
    YES = "yes", _("Consented")
    NO = "no", _("Not consented")


class ReferralFilter(models.TextChoices):
    REFERRED_FRIENDS = "referred_friends", _("Referred at least one friend")
    WAS_REFERRED = "was_referred", _("Joined through a referral")
    NONE = "none", _("Neither referred nor referred anyone")


class Segment(models.Model):
    """A saved set of filters over members; empty filters match everyone. Counted live, never stored."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    tiers = models.ManyToManyField(Tier, blank=True, related_name="segments", verbose_name=_("tiers"))
    interests = models.ManyToManyField(
        "members.Interest", blank=True, related_name="segments", verbose_name=_("interests"),
        help_text=_("Members with any of these interests."),
    )  # fmt: skip
    email_consent = models.CharField(_("email marketing"), max_length=4, choices=ConsentFilter.choices, blank=True)
    sms_consent = models.CharField(_("SMS marketing"), max_length=4, choices=ConsentFilter.choices, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, blank=True)
    last_order_after = models.DateField(_("last order on or after"), null=True, blank=True)
    last_order_before = models.DateField(
        _("last order before"), null=True, blank=True, help_text=_("Members who never ordered are left out.")
    )
    spend_from = models.DateField(_("spend counted from"), null=True, blank=True)
    spend_until = models.DateField(_("spend counted until (exclusive)"), null=True, blank=True)
    spend_min = models.DecimalField(_("spend at least"), max_digits=14, decimal_places=2, null=True, blank=True)
    spend_max = models.DecimalField(_("spend at most"), max_digits=14, decimal_places=2, null=True, blank=True)
    spend_currency = models.CharField(
        _("spend currency"), max_length=3, choices=Currency.choices, blank=True,
        help_text=_("Spend counts the orders in this currency only. Empty: the programme's currency."),
    )  # fmt: skip
    balance_min = models.BigIntegerField(_("balance at least"), null=True, blank=True)
    balance_max = models.BigIntegerField(_("balance at most"), null=True, blank=True)
    referrals = models.CharField(_("referrals"), max_length=20, choices=ReferralFilter.choices, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self) -> str:
        return str(self.name)


class SegmentSend(models.Model):
    """A message staff sent to a segment: the key of its messages in the message log."""

    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="sends", verbose_name=_("segment"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("text"))
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    members = models.PositiveIntegerField(_("members in the segment"), default=0)
    queued = models.PositiveIntegerField(_("messages queued"), default=0)
    created_at = models.DateTimeField(_("sent"), default=timezone.now)

    class Meta:
        verbose_name = _("segment message")
        verbose_name_plural = _("segment messages")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.segment}: {self.subject}"
