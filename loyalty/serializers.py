"""Shapes of the shop API's input and output. Explicit fields only; points, balances and tiers are never writable."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from loyalty.models import Currency
from loyalty.selectors import Standing
from loyalty.services import MemberRef, OrderInput, OrderItem
from members.phones import normalize_phone

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


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField would turn a number or a boolean into text; the API takes strings."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
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


class PhoneField(StrictCharField):
    """A phone number as people type it, stored and returned in E.164."""

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if not value:
            return ""
        try:
            return normalize_phone(value)
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


class MemberRefSerializer(serializers.Serializer):
    email = StrictEmailField(required=False, allow_blank=True, max_length=254)
    phone = PhoneField(required=False, allow_blank=True, max_length=32)
    external_id = StrictCharField(required=False, allow_blank=True, max_length=100)
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150)
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not any(attrs.get(key) for key in ("email", "phone", "external_id")):
            raise serializers.ValidationError(
                "Name the member by email, phone or external_id.", code="member_identifier_required"
            )
        return attrs


class OrderItemSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=100, allow_blank=True, required=False, default="")
    name = StrictCharField(max_length=255, allow_blank=True, required=False, default="")
    category = StrictCharField(max_length=100, allow_blank=True, required=False, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = money_field()


class OrderCreateInputSerializer(serializers.Serializer):
    order_id = StrictCharField(max_length=100, validators=[external_id_validator])
    member = MemberRefSerializer()
    amount = money_field(help_text="Qualifying amount: goods after discounts, without shipping.")
    tax = money_field(required=False, default=Decimal("0"), help_text="VAT included in `amount`, if any.")
    currency = CurrencyField(max_length=3)
    occurred_at = serializers.DateTimeField()
    items = OrderItemSerializer(many=True, required=False, default=list, max_length=1000)
    shipping_address = StrictCharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="Optional. Not stored: only a fingerprint, used by the referral programme's fraud checks.",
    )

    def to_order(self) -> OrderInput:
        data = self.validated_data
        return OrderInput(
            order_id=data["order_id"],
            member=MemberRef(**data["member"]),
            amount=data["amount"],
            tax=data["tax"],
            currency=data["currency"],
            occurred_at=data["occurred_at"],
            items=tuple(OrderItem(**item) for item in data["items"]),
            shipping_address=data["shipping_address"],
        )


class OrderResultSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    member_id = serializers.UUIDField()
    points_awarded = serializers.IntegerField()
    balance = serializers.IntegerField()
    tier = serializers.CharField(allow_null=True)


class RefundSummarySerializer(serializers.Serializer):
    refund_id = serializers.CharField(source="external_id")
    amount = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    points_clawed_back = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class OrderDetailSerializer(serializers.Serializer):
    order_id = serializers.CharField(source="external_id")
    member_id = serializers.UUIDField(source="member.public_id")
    amount = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    tax = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    points_awarded = serializers.IntegerField()
    refunded_amount = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    points_clawed_back = serializers.IntegerField()
    refunds = RefundSummarySerializer(many=True, read_only=True)


class OrderListItemSerializer(serializers.Serializer):
    order_id = serializers.CharField(source="external_id")
    member_id = serializers.UUIDField(source="member.public_id")
    amount = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    currency = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    points_awarded = serializers.IntegerField()
    refunded_amount = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    points_clawed_back = serializers.IntegerField()


class RefundCreateInputSerializer(serializers.Serializer):
    refund_id = StrictCharField(max_length=100, validators=[external_id_validator])
    amount = PositiveMoneyField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2, coerce_to_string=True)

    def validate_amount(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("A refund must be more than zero.", code="min_value")
        return value


class RefundResultSerializer(serializers.Serializer):
    refund_id = serializers.CharField()
    order_id = serializers.CharField()
    member_id = serializers.UUIDField()
    points_clawed_back = serializers.IntegerField()
    balance = serializers.IntegerField()


class TierSerializer(serializers.Serializer):
    name = serializers.CharField()
    threshold = serializers.IntegerField()
    multiplier = serializers.DecimalField(max_digits=5, decimal_places=2)
    colour = serializers.CharField()
    benefits = serializers.ListField(child=serializers.CharField(), source="benefit_list")


class MemberSerializer(serializers.Serializer):
    """A member with their standing; built from a ``(member, standing, external_id)`` triple."""

    member_id = serializers.UUIDField()
    email = serializers.EmailField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    phone = serializers.CharField()
    language = serializers.CharField()
    birthday = serializers.DateField(allow_null=True)
    external_id = serializers.CharField(allow_null=True, help_text="This shop's customer id for the member.")
    enrolled_at = serializers.DateTimeField()
    balance = serializers.IntegerField()
    tier = TierSerializer(allow_null=True)
    next_tier = TierSerializer(allow_null=True)
    tier_points = serializers.IntegerField(help_text="Qualifying points in the tier window.")
    points_to_next_tier = serializers.IntegerField()
    progress_percent = serializers.IntegerField()

    @staticmethod
    def build(*, member: Any, standing: Standing, external_id: str | None) -> dict[str, Any]:
        return {
            "member_id": member.public_id,
            "email": member.user.email,
            "first_name": member.user.first_name,
            "last_name": member.user.last_name,
            "phone": member.phone,
            "language": member.language,
            "birthday": member.birthday,
            "external_id": external_id,
            "enrolled_at": member.enrolled_at,
            "balance": standing.balance,
            "tier": standing.tier,
            "next_tier": standing.next_tier,
            "tier_points": standing.tier_points,
            "points_to_next_tier": standing.points_to_next_tier,
            "progress_percent": standing.progress_percent,
        }


class MemberLookupSerializer(serializers.Serializer):
    email = StrictEmailField(required=False)
    phone = PhoneField(required=False)
    external_id = StrictCharField(required=False, max_length=100)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A query parameter given but empty is a mistake in the caller's code, not "no filter".
        for name in self.fields:
            if name in self.initial_data and not str(self.initial_data.get(name, "")).strip():
                raise serializers.ValidationError({name: "This filter may not be blank."}, code="blank")
        if not attrs:
            raise serializers.ValidationError("Look members up by email, phone or external_id.", code="filter_required")
        return attrs


class MemberCreateInputSerializer(serializers.Serializer):
    email = StrictEmailField(max_length=254)
    first_name = StrictCharField(required=False, allow_blank=True, max_length=150, default="")
    last_name = StrictCharField(required=False, allow_blank=True, max_length=150, default="")
    phone = PhoneField(required=False, allow_blank=True, max_length=32, default="")
    language = serializers.ChoiceField(choices=[code for code, _name in settings.LANGUAGES], required=False, default="")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    external_id = StrictCharField(required=False, allow_blank=True, max_length=100, default="")
    referral_code = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=32,
        default="",
        help_text="The code of the member who referred this one (case-insensitive).",
    )


# --- Rewards and vouchers ---------------------------------------------------------------------------


class VoucherSerializer(serializers.Serializer):
    code = serializers.CharField()
    valid = serializers.BooleanField(help_text="True while the voucher can still be used.")
    status = serializers.ChoiceField(choices=["issued", "used", "cancelled"])
    kind = serializers.ChoiceField(
        choices=["reward", "winback"], help_text="A reward paid with points, or a personal win-back offer."
    )
    reward_id = serializers.IntegerField(allow_null=True, help_text="Null for a win-back code.")
    reward_name = serializers.CharField(help_text="What the voucher gives: the reward, or the win-back offer.")
    how_to_use = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="After this the code is not valid.")
    member_id = serializers.UUIDField()
    issued_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    used_order_id = serializers.CharField(
        allow_null=True, help_text="The order it was used on, shown only to the shop that used it."
    )

    @staticmethod
    def build(*, voucher: Any, shop_id: int) -> dict[str, Any]:
        return {
            "code": voucher.code,
            "valid": voucher.is_valid,
            "status": voucher.status,
            "kind": "reward" if voucher.reward_id else "winback",
            "reward_id": voucher.reward_id,
            "reward_name": voucher.title,
            "how_to_use": voucher.how_to_use,
            "expires_at": voucher.expires_at,
            "member_id": voucher.member.public_id,
            "issued_at": voucher.created_at,
            "used_at": voucher.used_at,
            "used_order_id": voucher.used_order_id if voucher.used_by_shop_id == shop_id else None,
        }


class VoucherRedeemInputSerializer(serializers.Serializer):
    order_id = StrictCharField(max_length=100, validators=[external_id_validator])


# --- Marketing consents ---------------------------------------------------------------------------------


class ConsentsSerializer(serializers.Serializer):
    """A member's marketing consents. On PUT, a channel left out is left as it is."""

    email_marketing = serializers.BooleanField(required=False)
    sms_marketing = serializers.BooleanField(required=False)
    wording = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        write_only=True,
        help_text="The consent text the customer agreed to at the shop, kept as proof.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "email_marketing" not in attrs and "sms_marketing" not in attrs:
            raise serializers.ValidationError(
                {"email_marketing": "Give email_marketing, sms_marketing or both."}, code="required"
            )
        return attrs


class EventCreateInputSerializer(serializers.Serializer):
    type = serializers.SlugField(max_length=50, help_text="The event type staff set up, e.g. `product_review`.")
    idempotency_key = serializers.CharField(
        max_length=100,
        validators=[external_id_validator],
        help_text="Unique per shop: the same key again returns the first result.",
    )
    member = MemberRefSerializer()
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    data = serializers.DictField(
        required=False, default=dict, help_text="Anything about the event (e.g. the product reviewed); kept in the key."
    )


class EventResultSerializer(serializers.Serializer):
    event_id = serializers.CharField(help_text="The idempotency key.")
    type = serializers.CharField()
    member_id = serializers.UUIDField()
    points_awarded = serializers.IntegerField()
    limited = serializers.BooleanField(help_text="True when the action's limit for this member was reached.")
    balance = serializers.IntegerField()
