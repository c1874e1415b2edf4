"""The shops that report orders: their settings, API keys (with their scopes) and the members who are their
customers."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.programme import Currency
from members.models import Member


class Country(models.TextChoices):
    NO = "NO", _("Norway")
    SE = "SE", _("Sweden")
    DK = "DK", _("Denmark")
    FI = "FI", _("Finland")
    IS = "IS", _("Iceland")
    DE = "DE", _("Germany")


class Shop(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), unique=True, help_text=_("Used in webhook addresses."))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices, default=Currency.NOK)
    country = models.CharField(
        _("country"),
        max_length=2,
        choices=Country.choices,
        default=Country.NO,
        help_text=_("Phone numbers the shop sends without a country code are read as this country's."),
    )
    points_per_unit = models.DecimalField(
        _("points per currency unit"),
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Leave empty to use the programme's rate. Set it when the shop sells in another currency."),
    )
    point_value = models.DecimalField(
        _("value of one point"),
        max_digits=10,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text=_("What one point pays at this shop's checkout. Leave empty to use the programme's value."),
    )
    redeem_max_share = models.PositiveSmallIntegerField(
        _("largest share of an order paid with points (%)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Leave empty to use the programme's share."),
    )
    shopify_webhook_secret = models.CharField(_("Shopify webhook secret"), max_length=200, blank=True)
    woocommerce_webhook_secret = models.CharField(_("WooCommerce webhook secret"), max_length=200, blank=True)
    count_test_orders = models.BooleanField(
        _("count test orders"),
        default=False,
        help_text=_("Let the platform's test orders (Shopify's test: true) earn points, to try the club out."),
    )
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
            models.CheckConstraint(
                condition=models.Q(point_value__isnull=True) | models.Q(point_value__gt=0),
                name="shop_point_value_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(redeem_max_share__isnull=True)
                | models.Q(redeem_max_share__gte=1, redeem_max_share__lte=100),
                name="shop_redeem_share_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.name)


class ApiScope(models.TextChoices):
    """What an API key may do. The values are part of the API contract: never rename one."""

    ORDERS = "orders", _("Orders, refunds and the points preview")
    MEMBERS_READ = "members:read", _("Look members up and read them")
    MEMBERS_WRITE = "members:write", _("Enrol members")
    CONSENTS = "consents", _("Read and change marketing consents")
    REDEMPTIONS = "redemptions", _("Spend points at the checkout")
    VOUCHERS = "vouchers", _("Check and use vouchers")
    EVENTS = "events", _("Points for actions")
    REFERRALS = "referrals", _("Members' referral codes")
    MEMBERS_ALL = "members:all", _("Every member of the club, not only this shop's customers")


# What a new key gets unless it is given others: every operation, for this shop's own customers.
OPERATIONAL_SCOPES: tuple[str, ...] = tuple(scope for scope in ApiScope.values if scope != ApiScope.MEMBERS_ALL)


def default_scopes() -> list[str]:
    return list(OPERATIONAL_SCOPES)


class ApiKey(models.Model):
    """A shop's API key. Only its SHA-256 is stored; the key itself is shown once, at creation.

    ``scopes`` (``ApiScope`` values) are chosen at creation and never widened: a key for more is a new key.
    """

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
    scopes = models.JSONField(_("scopes"), default=default_scopes, editable=False)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.shop})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or ())

    @property
    def sees_all_members(self) -> bool:
        """Club-wide: the key sees members who are not its shop's customers (``members:all``)."""
        return self.has_scope(ApiScope.MEMBERS_ALL)


class ShopCustomer(models.Model):
    """A member who is a shop's customer because the shop enrolled them or named them by its own customer id
    (``external_id``, empty where the shop gave none). A member with an order at the shop is its customer too,
    row or not: ``loyalty.models.customers`` has the rule."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="customers")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="shop_customers")
    external_id = models.CharField(_("shop's customer id"), max_length=100, blank=True, default="")

    class Meta:
        verbose_name = _("shop customer id")
        verbose_name_plural = _("shop customer ids")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "external_id"],
                condition=~models.Q(external_id=""),
                name="shopcustomer_external_id_unique",
            ),
            models.UniqueConstraint(fields=["shop", "member"], name="shopcustomer_member_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.shop}: {self.external_id or self.member_id}"
