"""The earning preview: an order as a product or cart page knows it, and what it would earn."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from loyalty.api.serializers.fields import CopiedFields, CurrencyField, StrictCharField, money_field
from loyalty.api.serializers.members import MemberRefSerializer
from loyalty.api.serializers.orders import OrderItemSerializer
from loyalty.orders import OrderItem
from loyalty.shops import MemberRef


class PreviewInputSerializer(CopiedFields, serializers.Serializer):
    member = MemberRefSerializer(
        required=False, help_text="The signed-in customer, if any; without one, a new member at the entry tier."
    )
    amount = money_field(help_text="Qualifying amount: goods after discounts, without shipping.")
    tax = money_field(required=False, default=Decimal("0"), help_text="VAT included in `amount`, if any.")
    currency = CurrencyField(max_length=3)
    items = OrderItemSerializer(many=True, required=False, default=list, max_length=1000)
    customer_tags = serializers.ListField(
        child=StrictCharField(max_length=100),
        required=False,
        default=list,
        max_length=50,
        help_text="The customer's tags or role at the shop; an excluded one (wholesale) earns nothing.",
    )

    def member_ref(self) -> MemberRef | None:
        data = self.validated_data.get("member")
        return MemberRef(**data) if data else None

    def order_items(self) -> tuple[OrderItem, ...]:
        return tuple(OrderItem(**item) for item in self.validated_data["items"])


class PreviewLineSerializer(serializers.Serializer):
    rule = serializers.CharField(help_text='"base", "tier" (the tier\'s multiplier), or an earning rule\'s name.')
    points = serializers.IntegerField()


class PreviewResultSerializer(serializers.Serializer):
    points = serializers.IntegerField(help_text="What the order would earn now: the sum of the lines.")
    lines = PreviewLineSerializer(many=True)
    tier = serializers.CharField(allow_null=True, help_text="The tier it would earn at.")
