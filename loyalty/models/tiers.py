"""The club's levels, reached by qualifying points."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

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
    free_shipping = models.BooleanField(
        _("free shipping"), default=False, help_text=_("Shops give the tier's members free shipping at checkout.")
    )
    percent_off = models.DecimalField(
        _("discount (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
        help_text=_("A discount off every order that shops apply at checkout. Empty: none."),
    )
    colour = models.CharField(_("colour"), max_length=7, default="#8c6239", validators=[colour_validator])

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["threshold"]
        constraints = [
            models.CheckConstraint(condition=models.Q(multiplier__gte=0), name="tier_multiplier_non_negative"),
            models.CheckConstraint(
                condition=models.Q(percent_off__isnull=True) | models.Q(percent_off__gt=0, percent_off__lte=100),
                name="tier_percent_off_range",
            ),
        ]

    def __str__(self) -> str:
        return str(self.name)

    @property
    def benefit_list(self) -> list[str]:
        return [line.strip() for line in self.benefits.splitlines() if line.strip()]

    @property
    def typed_benefits(self) -> list[TierBenefit]:
        """What the tier gives, each with a type a checkout can apply: ``free_shipping``, ``percent_off`` (value:
        the percent), ``points_multiplier`` (value: the multiplier, when it is not 1) and ``text`` (the lines of
        ``benefits``), each with a text for members in the active language."""
        typed = []
        if self.free_shipping:
            typed.append(TierBenefit("free_shipping", None, gettext("Free shipping")))
        if self.percent_off:
            percent = f"{self.percent_off.normalize():f}"
            text = gettext("%(percent)s %% off every order") % {"percent": number_format(self.percent_off.normalize())}
            typed.append(TierBenefit("percent_off", percent, text))
        if self.multiplier != 1:
            multiplier = f"{self.multiplier.normalize():f}"
            text = gettext("%(multiplier)s times the points") % {
                "multiplier": number_format(self.multiplier.normalize())
            }
            typed.append(TierBenefit("points_multiplier", multiplier, text))
        return typed + [TierBenefit("text", None, line) for line in self.benefit_list]


@dataclass(frozen=True)
class TierBenefit:
    type: str
    value: str | None
    text: str


class TierChangeReason(models.TextChoices):
    ORDER = "order", _("An order lifted them")
    REVIEW = "review", _("The tier review")
    IMPORT = "import", _("An order history import")
    OPENING = "opening", _("Moved from another programme")


class TierChange(models.Model):
    """One move of a member between tiers, kept as history (the dashboard's tier movement reads it).

    Written by the tiers package's subscriber to ``TierChanged``; never changed afterwards. A tier that is
    renamed keeps its moves; a deleted tier leaves them with no tier.
    """

    member = models.ForeignKey(
        "members.Member", on_delete=models.CASCADE, related_name="tier_changes", verbose_name=_("member")
    )
    from_tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("from tier")
    )
    to_tier = models.ForeignKey(
        Tier, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("to tier")
    )
    up = models.BooleanField(_("upgrade"))
    reason = models.CharField(_("reason"), max_length=16, choices=TierChangeReason.choices)
    changed_at = models.DateTimeField(_("changed"), db_index=True)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_tier or '—'} → {self.to_tier or '—'}"
