"""Amounts for people: money in the member's language and the shop's currency, one format per language."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_decimal
from django import template
from django.utils.translation import get_language, to_locale

register = template.Library()

# The number's separators come from the language's usual country.
_LOCALES = {"nb": "nb_NO", "da": "da_DK", "sv": "sv_SE", "en": "en_GB"}
# A Nordic language writes its own country's crown as "kr" after the number; any other currency by its code
# ("560,00 kr", "560,00 NOK" for a Swede). English puts the code first: "NOK 560.00".
_OWN_CURRENCY = {"nb": "NOK", "da": "DKK", "sv": "SEK"}
NBSP = "\xa0"


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    """``{{ order.amount|money:order.currency }}`` → "1 250,00 kr" in Norwegian, "NOK 1,250.00" in English.

    Every page and message writes money with this filter (or ``money_format``), so one language has one format.
    """
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return ""
    return money_format(amount=value, currency=currency, language=get_language() or "en")


def money_format(*, amount: Decimal, currency: str, language: str) -> str:
    code = language.split("-")[0]
    locale = _LOCALES.get(code, to_locale(language))
    number = format_decimal(amount, format="#,##0.00", locale=locale)
    currency = currency.upper()
    if code in _OWN_CURRENCY:
        return f"{number}{NBSP}{'kr' if currency == _OWN_CURRENCY[code] else currency}"
    return f"{currency}{NBSP}{number}"
