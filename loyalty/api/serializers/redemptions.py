"""Points spent at a checkout: reserving them, capturing or releasing the reservation, and what it is."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from loyalty.api.serializers.fields import (
    MAX_AMOUNT_DIGITS,
    PositiveMoneyField,
    StrictCharField,
    StrictIntegerField,
    external_id_validator,
    money_field,
)
from loyalty.api.serializers.members import MemberRefSerializer
from loyalty.models import RedemptionStatus
from loyalty.shops import MemberRef


class RedemptionCreateInputSerializer(serializers.Serializer):
    redemption_id = StrictCharField(
        max_length=100, validators=[external_id_validator], help_text="The shop's id for this checkout's redemption."
    )
    member = MemberRefSerializer()
    points = StrictIntegerField(
        required=False, min_value=1, max_value=2**31 - 1, help_text="Points to spend. Give this or `amount`."
    )
    amount = PositiveMoneyField(
        max_digits=MAX_AMOUNT_DIGITS,
        decimal_places=2,
        coerce_to_string=True,
        min_value=Decimal("0.01"),
        required=False,
        help_text="Money to pay with points instead: converted at the point value, rounded down to a step.",
    )
    order_amount = money_field(
        required=False,
        help_text="The cart's total, if known: points may pay at most the programme's share of it.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("points" in attrs) == ("amount" in attrs):
            raise serializers.ValidationError(
                {"points": ["Give either points or amount."]}, code="points_or_amount_required"
            )
        return attrs

    def member_ref(self) -> MemberRef:
        return MemberRef(**self.validated_data["member"])


class RedemptionCaptureInputSerializer(serializers.Serializer):
    order_id = StrictCharField(max_length=100, validators=[external_id_validator])


class RedemptionSerializer(serializers.Serializer):
    redemption_id = serializers.CharField()
    code = serializers.CharField(help_text="Single-use: apply it as the order's discount code.")
    points = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=MAX_AMOUNT_DIGITS, decimal_places=2, help_text="What the points pay, in `currency`."
    )
    currency = serializers.CharField()
    status = serializers.ChoiceField(choices=RedemptionStatus.values)
    expires_at = serializers.DateTimeField(help_text="Released, and its points back, if not captured by then.")
    order_id = serializers.CharField(allow_null=True, help_text="The order that captured it.")
