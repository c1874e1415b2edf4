"""Referral codes, clicks on referral links, and referrals from sign-up to reward.

Written only by ``referrals.services``; points move only through ``loyalty`` services and its ledger.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, ClassVar

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import LedgerEntry, Order
from members.models import Member

# No 0/O, 1/I/L: codes are read aloud and typed by hand.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8


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

    class Meta:
        verbose_name = _("referral programme")
        verbose_name_plural = _("referral programme")

    def __str__(self) -> str:
        return str(_("Referral programme"))

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
