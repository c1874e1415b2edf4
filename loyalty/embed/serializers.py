"""The storefront widget's input."""

from __future__ import annotations

from rest_framework import serializers

from loyalty.api.serializers.fields import MoneyField, StrictCharField
from loyalty.orders import BadgeItem

MAX_BADGES = 100  # products on one page


class SessionInputSerializer(serializers.Serializer):
    """What the shop's theme rendered: exactly the values it signed."""

    customer_id = StrictCharField(max_length=100, allow_blank=True)
    email = StrictCharField(max_length=254, allow_blank=True, trim_whitespace=False)
    timestamp = serializers.IntegerField(min_value=0, max_value=2**41)
    signature = StrictCharField(max_length=128)

    def validate(self, attrs: dict) -> dict:
        if not (attrs["customer_id"] or attrs["email"]):
            raise serializers.ValidationError(
                {"customer_id": "Give the customer's id or email."}, code="customer_required"
            )
        return attrs


class BadgeSerializer(serializers.Serializer):
    price = MoneyField(max_digits=12, decimal_places=2, min_value=0)
    category = StrictCharField(max_length=100, required=False, default="", allow_blank=True)
    sku = StrictCharField(max_length=100, required=False, default="", allow_blank=True)


class BadgesInputSerializer(serializers.Serializer):
    items = BadgeSerializer(many=True, max_length=MAX_BADGES, allow_empty=False)

    def badge_items(self) -> list[BadgeItem]:
        return [BadgeItem(**item) for item in self.validated_data["items"]]


class ReserveInputSerializer(serializers.Serializer):
    points = serializers.IntegerField(min_value=1, max_value=10**9)
    request_id = serializers.UUIDField(
        required=False, help_text="The widget's own id for this click: a retry with it reserves once."
    )
