"""The club's levels, reached by qualifying points."""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
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


class TierChangeReason(models.TextChoices):
    ORDER = "order", _("An order lifted them")
    REVIEW = "review", _("The tier review")
    IMPORT = "import", _("An order history import")


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
