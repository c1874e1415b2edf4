"""Amounts for people: money in the member's language and the shop's currency."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()

# Babel needs a territory to pick the currency symbol ("kr" in Norway, "NOK" elsewhere).
_LOCALES = {"nb": "nb_NO", "da": "da_DK", "sv": "sv_SE", "en": "en_GB"}


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    """``{{ order.amount|money:order.currency }}`` → "1 250,00 kr" in Norwegian, "NOK 1,250.00" in English."""
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    language = get_language() or "en"
    locale = _LOCALES.get(language.split("-")[0], to_locale(language))
    return format_currency(value, currency, locale=locale)
