"""Fields the shop API's serializers share: strict text, money as decimal strings, phones, currencies, ids."""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.models import Currency
from members.phones import DEFAULT_REGION, normalize_phone

MAX_AMOUNT_DIGITS = 14
external_id_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._:#/-]*$",
    "Use letters, digits and . _ : # / - only.",
    code="invalid_id",
)


# What the schema promises for amounts: a decimal string with at most 12 digits before the point and 2 after.
MONEY_PATTERN = r"^0*[0-9]{1,12}(\.[0-9]{1,2})?$"
# The same, above zero (refunds): either a non-zero whole part, or a zero whole part and non-zero cents.
POSITIVE_MONEY_PATTERN = r"^(0*[1-9][0-9]{0,11}(\.[0-9]{1,2})?|0+\.(0[1-9]|[1-9][0-9]?))$"


class CopiedFields:
    """A serializer that copies its plain declared fields for each instance instead of building them again.

    DRF deep-copies every declared field for every serializer instance, which calls each field's ``__init__`` again
    (its validators, its error messages): for an order's JSON with three items, about 40 % of validating it. A
    plain field holds nothing its validation changes, so a shallow copy, bound to this instance as DRF binds it,
    validates the same; fields that hold other fields (nested serializers, lists) are still deep-copied, so every
    field an instance binds is its own. For the input of the requests a shop sends most: the earning preview every
    product page asks for, and the order.
    """

    _declared_fields: dict[str, serializers.Field]

    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            name: copy.deepcopy(field) if isinstance(field, _HOLDS_FIELDS) else copy.copy(field)
            for name, field in self._declared_fields.items()
        }


_HOLDS_FIELDS = (serializers.BaseSerializer, serializers.ListField, serializers.DictField, serializers.HStoreField)


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField would turn a number or a boolean into text; the API takes strings."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictSlugField(serializers.SlugField):
    """A slug given as text: DRF's SlugField would turn a number into text (``0`` into ``"0"``)."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class AtLeastOneOf:
    """A serializer whose input must give at least one of ``at_least_one_of`` (not blank). Its ``validate`` refuses
    input without one; the schema says so too (``loyalty.api.schema.AtLeastOneOfExtension``: an ``anyOf``)."""

    at_least_one_of: tuple[str, ...] = ()

    def given(self, attrs: dict[str, Any]) -> bool:
        return any(attrs.get(name) not in (None, "") for name in self.at_least_one_of)


class StrictBooleanField(serializers.BooleanField):
    """JSON ``true`` or ``false`` only: DRF's BooleanField would also take 0, 1, "yes" and "off"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictIntegerField(serializers.IntegerField):
    """A JSON whole number only: DRF's IntegerField would also take "100", 100.0 and true."""

    def to_internal_value(self, data: Any) -> int:
        if not isinstance(data, int) or isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictEmailField(serializers.EmailField):
    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class MoneyField(serializers.DecimalField):
    """An amount as a decimal string ("1249.00"): a JSON number would lose cents to floating point."""

    default_error_messages = {
        **serializers.DecimalField.default_error_messages,
        "not_a_string": 'Send amounts as strings, e.g. "1249.00".',
    }

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            self.fail("not_a_string")
        value = super().to_internal_value(data)  # its codes first: min_value, max_digits, max_decimal_places
        if not re.fullmatch(MONEY_PATTERN, data.removeprefix("-")):  # no exponents or spaces; "-" fails min_value
            self.fail("invalid")
        if data.startswith("-"):  # "-0.00" passes min_value: no minus sign at all
            raise serializers.ValidationError("Amounts cannot be negative.", code="min_value")
        return value


@extend_schema_field({"type": "string", "format": "decimal", "pattern": MONEY_PATTERN, "example": "1249.00"})
class NonNegativeMoneyField(MoneyField):
    pass


@extend_schema_field({"type": "string", "format": "decimal", "pattern": POSITIVE_MONEY_PATTERN, "example": "250.00"})
class PositiveMoneyField(MoneyField):
    pass


def money_field(**kwargs: Any) -> serializers.DecimalField:
    return NonNegativeMoneyField(
        max_digits=MAX_AMOUNT_DIGITS, decimal_places=2, min_value=Decimal("0"), coerce_to_string=True, **kwargs
    )


# Earlier than this, an order or an event is a mistake in the shop's data (year 0001, a clock reset to 1970).
EARLIEST_EVENT_YEAR = 2000


@extend_schema_field({"type": "string", "format": "date-time", "example": "2026-11-20T14:03:00+01:00"})
class StrictDateTimeField(serializers.DateTimeField):
    """A moment with its time zone (``+01:00`` or ``Z``), from the year 2000: DRF would read a time without one
    in the server's zone, and take any year from 1."""

    default_error_messages = {
        **serializers.DateTimeField.default_error_messages,
        "naive": "Give the time zone, e.g. 2026-11-20T14:03:00+01:00 or ...Z.",
        "too_early": f"The date is before {EARLIEST_EVENT_YEAR}.",
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:  # shaped like a time, and none (12:99): DRF's parsing below refuses it as invalid
                parsed = None
            if parsed is not None and parsed.tzinfo is None:
                self.fail("naive")
        result = super().to_internal_value(value)
        if result.year < EARLIEST_EVENT_YEAR:
            self.fail("too_early")
        return result


class PhoneField(StrictCharField):
    """A phone number as people type it, stored and returned in E.164; without a country code, it is a number of
    the serializer context's ``region`` (the shop's country), else Norway's."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return ""
        try:
            return normalize_phone(value, region=self.context.get("region", DEFAULT_REGION))
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0], code="invalid_phone") from exc


def _any_case(code: str) -> str:
    return "".join(f"[{char.upper()}{char.lower()}]" for char in code)


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^(" + "|".join(_any_case(code) for code in Currency.values) + ")$",
        "description": f"One of {', '.join(Currency.values)} (any case): the shop's currency.",
        "example": "NOK",
    }
)
class CurrencyField(StrictCharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data).upper()
        if value not in Currency.values:
            raise serializers.ValidationError(
                f"Unknown currency {value!r}; use one of {', '.join(Currency.values)}.", code="unknown_currency"
            )
        return value
