"""Referral codes, clicks on referral links, and referrals from sign-up to reward.

Written only by ``referrals.services``; points move only through ``loyalty`` services and its ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import LedgerEntry, Order, Shop
from members.models import Member

# No 0/O, 1/I/L: codes are read aloud and typed by hand.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


class DiscountKind(models.TextChoices):
    NONE = "", _("No discount")
    AMOUNT = "amount", _("An amount off")
    PERCENT = "percent", _("A percent off")


class ReferralProgramme(models.Model):
    """The referral programme's settings: one row, edited in the admin."""

    is_active = models.BooleanField(_("referrals switched on"), default=True)
    friend_bonus = models.PositiveIntegerField(
        _("friend's welcome bonus (points)"), default=200, help_text=_("Given to the friend at sign-up.")
    )
    referrer_reward = models.PositiveIntegerField(
        _("referrer's reward (points)"), default=500, help_text=_("Given once the friend's first order is confirmed.")
    )
    minimum_order = models.DecimalField(
        _("minimum qualifying order"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("300.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("In the programme's currency: the qualifying amount of the friend's first order."),
    )
    confirmation_days = models.PositiveIntegerField(
        _("confirmation delay (days)"),
        default=14,
        help_text=_("The return window: the referrer is rewarded this long after the order if it was not returned."),
    )
    attribution_days = models.PositiveIntegerField(
        _("attribution window (days)"),
        default=30,
        validators=[MinValueValidator(1)],
        help_text=_("How long a click on a referral link is remembered."),
    )
    monthly_reward_limit = models.PositiveIntegerField(
        _("rewarded referrals per referrer per month before review"),
        default=10,
        help_text=_("Above this, further referrals of the same referrer wait for staff review."),
    )
    burst_signups = models.PositiveIntegerField(
        _("sign-ups from one IP and browser before review"),
        default=3,
        validators=[MinValueValidator(1)],
    )
    burst_minutes = models.PositiveIntegerField(_("… within minutes"), default=60, validators=[MinValueValidator(1)])
    friend_discount_kind = models.CharField(
        _("friend's discount"),
        max_length=8,
        choices=DiscountKind.choices,
        default=DiscountKind.NONE,
        blank=True,
        help_text=_(
            "A single-use discount on the friend's first order, instead of or besides the welcome bonus. "
            "The friend gets a code at sign-up, or uses the referrer's code at the shop's checkout."
        ),
    )
    friend_discount_value = models.DecimalField(
        _("friend's discount (amount or percent)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("An amount in the programme's currency, or a percent of the order (at most 100)."),
    )
    friend_discount_minimum_order = models.DecimalField(
        _("friend's discount: minimum order"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_(
            "In the programme's currency. A shop selling in another currency can use only a percent discount "
            "without a minimum."
        ),
    )
    friend_discount_valid_days = models.PositiveIntegerField(
        _("friend's discount valid for (days)"), default=30, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = _("referral programme")
        verbose_name_plural = _("referral programme")

    def __str__(self) -> str:
        return str(_("Referral programme"))

    def clean(self) -> None:
        if self.friend_discount_kind == DiscountKind.PERCENT and self.friend_discount_value > 100:
            raise ValidationError({"friend_discount_value": _("A percent discount is at most 100.")})
        if self.friend_discount_kind and self.friend_discount_value <= 0:
            raise ValidationError({"friend_discount_value": _("Give the discount, or choose no discount.")})

    @property
    def gives_friend_discount(self) -> bool:
        return bool(self.is_active and self.friend_discount_kind and self.friend_discount_value > 0)

    @classmethod
    def load(cls) -> ReferralProgramme:
        programme, _created = cls.objects.get_or_create(pk=1)
        return programme


class ReferralCode(models.Model):
    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="referral_code")
    code = models.CharField(_("code"), max_length=16, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("referral code")
        verbose_name_plural = _("referral codes")

    def __str__(self) -> str:
        return str(self.code)


class ReferralClick(models.Model):
    code = models.ForeignKey(ReferralCode, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("referral link click")
        verbose_name_plural = _("referral link clicks")

    def __str__(self) -> str:
        return f"{self.code} {self.at:%Y-%m-%d %H:%M}"


class ReferralStatus(models.TextChoices):
    PENDING = "pending", _("Joined, no qualifying order yet")
    QUALIFIED = "qualified", _("Qualified, waiting for the return window")
    REVIEW = "review", _("Waiting for staff review")
    REWARDED = "rewarded", _("Rewarded")
    REJECTED = "rejected", _("Rejected")


class Referral(models.Model):
    """One friend referred by one member: a friend can be referred only once."""

    referrer = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="referrals_made")
    friend = models.OneToOneField(Member, on_delete=models.PROTECT, related_name="referred_by")
    code = models.ForeignKey(ReferralCode, on_delete=models.PROTECT, related_name="referrals")
    status = models.CharField(_("status"), max_length=16, choices=ReferralStatus.choices, default="pending")
    source = models.CharField(_("joined through"), max_length=16, default="portal")
    created_at = models.DateTimeField(_("joined"), default=timezone.now, db_index=True)
    signup_ip = models.GenericIPAddressField(_("sign-up IP address"), null=True, blank=True)
    signup_user_agent = models.CharField(_("sign-up user agent"), max_length=300, blank=True)
    qualifying_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("qualifying order")
    )
    qualified_at = models.DateTimeField(_("qualified"), null=True, blank=True)
    reward_due_at = models.DateTimeField(_("reward due"), null=True, blank=True, db_index=True)
    rewarded_at = models.DateTimeField(_("rewarded"), null=True, blank=True)
    rejection_reason = models.CharField(_("reason for rejection"), max_length=200, blank=True)
    rejected_at = models.DateTimeField(_("rejected"), null=True, blank=True)
    flags = models.JSONField(_("fraud signals"), default=list, blank=True)
    friend_bonus_entry = models.OneToOneField(
        LedgerEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("friend's bonus")
    )
    referrer_entry = models.OneToOneField(
        LedgerEntry,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("referrer's reward"),
    )
    reviewed_by = models.ForeignKey(
        "members.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("reviewed by")
    )
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)

    class Meta:
        verbose_name = _("referral")
        verbose_name_plural = _("referrals")
        ordering = ["-created_at", "-id"]
        constraints: ClassVar[list[Any]] = [
            models.CheckConstraint(condition=~models.Q(referrer=models.F("friend")), name="referral_not_self"),
            models.CheckConstraint(
                condition=~models.Q(status="rewarded") | models.Q(referrer_entry__isnull=False),
                name="referral_rewarded_has_entry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.referrer} → {self.friend}"


class FriendDiscountStatus(models.TextChoices):
    ISSUED = "issued", _("Issued")
    USED = "used", _("Used")


class FriendDiscount(models.Model):
    """The friend's single-use discount on their first order, with the programme's terms when it was given.

    One per referral, so one per friend. ``shared``: the friend used the referrer's own code at a shop's checkout
    (the row records that use); otherwise the code is the friend's personal one, issued at sign-up.
    ``mailbox`` is a hash of the friend's mailbox (``referrals.identity.mailbox_hash``): one discount per mailbox,
    however the address is spelled, and under however many accounts.
    """

    referral = models.OneToOneField(Referral, on_delete=models.PROTECT, related_name="friend_discount")
    code = models.CharField(_("code"), max_length=16)
    shared = models.BooleanField(_("the referrer's code, used at checkout"), default=False)
    mailbox = models.CharField(_("friend's mailbox (hashed)"), max_length=64, editable=False)
    kind = models.CharField(_("discount"), max_length=8, choices=DiscountKind.choices)
    value = models.DecimalField(_("amount or percent"), max_digits=12, decimal_places=2)
    minimum_order = models.DecimalField(_("minimum order"), max_digits=12, decimal_places=2)
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(
        _("status"), max_length=8, choices=FriendDiscountStatus.choices, default=FriendDiscountStatus.ISSUED
    )
    created_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("used on order")
    )
    used_by_shop = models.ForeignKey(
        Shop, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("used at")
    )

    class Meta:
        verbose_name = _("friend's discount")
        verbose_name_plural = _("friends' discounts")
        constraints: ClassVar[list[Any]] = [
            models.UniqueConstraint(fields=["code"], condition=models.Q(shared=False), name="friend_discount_code"),
            models.UniqueConstraint(fields=["mailbox"], name="friend_discount_one_per_mailbox"),
            models.CheckConstraint(
                condition=models.Q(kind__in=["amount", "percent"], value__gt=0), name="friend_discount_has_value"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="used") | models.Q(used_at__isnull=False, used_order__isnull=False),
                name="friend_discount_used_has_order",
            ),
        ]

    def __str__(self) -> str:
        return str(self.code)

    @property
    def is_valid(self) -> bool:
        return self.status == FriendDiscountStatus.ISSUED and self.expires_at > timezone.now()
