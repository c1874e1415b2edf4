"""The terms of a friend's discount: kind, value, minimum order and currency, and how they read."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import formats
from django.utils.translation import gettext as _

from loyalty.models import Programme
from loyalty.templatetags.klubb_format import money
from referrals.models import DiscountKind, FriendDiscount, ReferralProgramme


@dataclass(frozen=True)
class DiscountTerms:
    """What the friend's discount gives: ``value`` off (an amount, or a percent of the order) from ``minimum_order``."""

    kind: str
    value: Decimal
    minimum_order: Decimal
    currency: str

    def usable_in(self, currency: str) -> bool:
        """A shop in another currency cannot honour an amount or a minimum order: they are never converted."""
        return currency == self.currency or (self.kind == DiscountKind.PERCENT and not self.minimum_order)

    def describe(self) -> str:
        """In the active language: "10% off your first order of NOK 300.00 or more"."""
        if self.kind == DiscountKind.PERCENT:
            whole = self.value == self.value.to_integral_value()
            number = formats.number_format(self.value.quantize(Decimal(1)) if whole else self.value.normalize())
            off = _("%(percent)s%% off") % {"percent": number}
        else:
            off = _("%(amount)s off") % {"amount": money(self.value, self.currency)}
        if self.minimum_order:
            return _("%(off)s your first order of %(minimum)s or more") % {
                "off": off, "minimum": money(self.minimum_order, self.currency),
            }  # fmt: skip
        return _("%(off)s your first order") % {"off": off}

    def as_data(self) -> dict[str, str]:
        return {"kind": self.kind, "value": str(self.value), "minimum_order": str(self.minimum_order),
                "currency": self.currency}  # fmt: skip


def programme_discount_terms(programme: ReferralProgramme) -> DiscountTerms | None:
    """The programme's friend's discount, or None when it gives none (or is switched off)."""
    if not programme.gives_friend_discount:
        return None
    return DiscountTerms(
        kind=programme.friend_discount_kind,
        value=programme.friend_discount_value,
        minimum_order=programme.friend_discount_minimum_order,
        currency=Programme.load().currency,
    )


def discount_terms(discount: FriendDiscount) -> DiscountTerms:
    return DiscountTerms(
        kind=discount.kind, value=discount.value, minimum_order=discount.minimum_order, currency=discount.currency
    )


def discount_wording(discount: FriendDiscount) -> str:
    """What a given discount gives, in the active language."""
    return discount_terms(discount).describe()
