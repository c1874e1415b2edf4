"""Points beyond the base rate and messages to groups: earning rules, actions, birthday bonuses, segments."""

from __future__ import annotations

import functools
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.ledger import LedgerEntry
from loyalty.models.orders import Order
from loyalty.models.programme import Currency
from loyalty.models.shops import Shop
from loyalty.models.tiers import Tier
from members.models import Member

# Read by ``loyalty.campaigns.earning`` (pure) and written to only through services and the admin.


class RuleKind(models.TextChoices):
    MULTIPLIER = "multiplier", _("Multiplier")
    BONUS = "bonus", _("Fixed bonus")


@functools.lru_cache(maxsize=256)
def codes_parse(text: str) -> frozenset[str]:
    """A comma-separated list of SKUs or categories, compared without case. Kept per text (a frozenset cannot be
    changed): ``earning_points`` asks for the programme's lists for every order, an import a million times."""
    return frozenset(part.strip().casefold() for part in text.split(",") if part.strip())


class EarningRule(models.Model):
    """A campaign on top of the base rate: a multiplier or a fixed bonus, for a time and a part of the club.

    How rules stack is documented in ``loyalty.campaigns.earning``.
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

    # Indexed by the two below, which lead with it.
    rule = models.ForeignKey(EarningRule, on_delete=models.PROTECT, related_name="uses", db_index=False)
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
