"""The club's settings: its currency, what part of an order earns points, and the one Programme row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


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
    min_earning_amount = models.DecimalField(
        _("smallest amount that earns"),
        max_digits=14,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Orders whose qualifying amount is below this earn no base points (campaigns keep their own)."),
    )
    never_earning_categories = models.CharField(
        _("categories that never earn"),
        max_length=500,
        blank=True,
        help_text=_("Comma-separated product categories whose lines earn nothing (gift cards always earn nothing)."),
    )
    never_earning_skus = models.CharField(
        _("SKUs that never earn"), max_length=1000, blank=True, help_text=_("Comma-separated.")
    )
    pending_days = models.PositiveSmallIntegerField(
        _("points pending for (days)"),
        default=0,
        help_text=_(
            "Points an order earns are spendable this many days after the order (its return window); a refund "
            "before then cancels them. They count towards tiers at once. 0: spendable at once."
        ),
    )
    never_earning_customer_tags = models.CharField(
        _("customer tags that never earn"),
        max_length=500,
        blank=True,
        help_text=_(
            "Comma-separated. Orders of customers with one of these tags (Shopify's customer tags, WooCommerce's "
            "customer role, the API's customer_tags) are recorded but earn nothing: wholesale, staff, B2B."
        ),
    )
    pending_tier_points_wait = models.BooleanField(
        _("pending points count towards tiers only once spendable"),
        default=False,
        help_text=_("Off: an order counts towards the member's tier at once, as its points are earned."),
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
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text=_(
            "What one point is worth at a shop's checkout, in the programme's currency (0.10: 100 points pay "
            "10.00); the dashboard values outstanding points at it too."
        ),
    )
    redeem_min_points = models.PositiveIntegerField(
        _("smallest checkout redemption (points)"),
        default=100,
        validators=[MinValueValidator(1)],
        help_text=_("Members spend at least this many points at a checkout."),
    )
    redeem_step_points = models.PositiveIntegerField(
        _("checkout redemption step (points)"),
        default=100,
        validators=[MinValueValidator(1)],
        help_text=_("Above the smallest redemption, points are spent in steps of this many."),
    )
    redeem_max_share = models.PositiveSmallIntegerField(
        _("largest share of an order paid with points (%)"),
        default=50,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    reservation_minutes = models.PositiveSmallIntegerField(
        _("checkout reservation time (minutes)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("Points reserved at a checkout that is neither completed nor abandoned come back after this."),
    )
    refund_returns_points = models.BooleanField(
        _("refunds give back points spent"),
        default=True,
        help_text=_("A refund of an order paid partly with points gives back the same share of those points."),
    )
    support_adjust_limit = models.PositiveIntegerField(
        _("largest points adjustment by support"),
        default=500,
        help_text=_(
            "Staff without the unlimited adjustment permission may add or remove at most this many points a day, "
            "all their adjustments added up."
        ),
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
            models.CheckConstraint(condition=models.Q(point_value__gt=0), name="programme_point_value_positive"),
            models.CheckConstraint(
                condition=models.Q(redeem_min_points__gte=1, redeem_step_points__gte=1), name="programme_redeem_steps"
            ),
            models.CheckConstraint(
                condition=models.Q(redeem_max_share__gte=1, redeem_max_share__lte=100),
                name="programme_redeem_share_range",
            ),
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
