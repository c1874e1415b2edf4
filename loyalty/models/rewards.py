"""What members get: rewards bought with points, win-back offers, and the vouchers both issue."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.ledger import LedgerEntry
from loyalty.models.shops import Shop
from loyalty.models.tiers import Tier
from members.models import Member

# Written only by ``loyalty.rewards.catalogue`` (``reward_redeem``, ``voucher_use``, ``voucher_cancel``).

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
