"""Orders and refunds: what a shop reports, and what the API answers."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

from loyalty.api.serializers.fields import (
    MAX_AMOUNT_DIGITS,
    CopiedFields,
    CurrencyField,
    PositiveMoneyField,
    StrictBooleanField,
    StrictCharField,
    StrictDateTimeField,
    external_id_validator,
    money_field,
)
from loyalty.api.serializers.members import MemberRefSerializer
from loyalty.models import ITEM_URL_MAX_LENGTH, ProductURLValidator
from loyalty.orders import OrderInput, OrderItem, RefundDetails, ReturnedItem
from loyalty.shops import MemberRef


class ProductUrlField(StrictCharField, serializers.URLField):
    """An item's product page: described as a URI, checked by ``product_url_valid`` (http or https with a host, no
    spaces) rather than Django's stricter ``URLValidator``, which refuses some addresses the schema allows."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, URLValidator)] + [ProductURLValidator()]


class OrderItemSerializer(CopiedFields, serializers.Serializer):
    sku = StrictCharField(max_length=100, allow_blank=True, required=False, default="")
    name = StrictCharField(max_length=255, allow_blank=True, required=False, default="")
    category = StrictCharField(max_length=100, allow_blank=True, required=False, default="")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)
    unit_price = money_field()
    gift_card = StrictBooleanField(
        required=False, default=False, help_text="A gift card sold: money, not goods, so it earns nothing."
    )
    url = ProductUrlField(
        max_length=ITEM_URL_MAX_LENGTH,
        allow_blank=True,
        required=False,
        default="",
        help_text="Optional: the product's page at the shop (http or https). A replenishment reminder links to it.",
    )


class OrderCreateInputSerializer(CopiedFields, serializers.Serializer):
    order_id = StrictCharField(max_length=100, validators=[external_id_validator])
    member = MemberRefSerializer()
    amount = money_field(help_text="Qualifying amount: goods after discounts, without shipping.")
    tax = money_field(required=False, default=Decimal("0"), help_text="VAT included in `amount`, if any.")
    currency = CurrencyField(max_length=3)
    occurred_at = StrictDateTimeField()
    items = OrderItemSerializer(many=True, required=False, default=list, max_length=1000)
    shipping_address = StrictCharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="Optional. Not stored: only a fingerprint, used by the referral programme's fraud checks.",
    )
    discount_codes = serializers.ListField(
        child=StrictCharField(max_length=100),
        required=False,
        default=list,
        max_length=50,
        help_text=(
            "The discount codes used on the order. A Klubb checkout code captures its redemption; a reward voucher's "
            "code marks the voucher used; the shop's own codes are ignored."
        ),
    )

    customer_tags = serializers.ListField(
        child=StrictCharField(max_length=100),
        required=False,
        default=list,
        max_length=50,
        help_text="The customer's tags or role at the shop; the programme may exclude some from earning (wholesale).",
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
            discount_codes=tuple(data["discount_codes"]),
            customer_tags=tuple(data["customer_tags"]),
        )


class OrderResultSerializer(serializers.Serializer):
    order_id = serializers.CharField()
    member_id = serializers.UUIDField()
    points_awarded = serializers.IntegerField()
    balance = serializers.IntegerField()
    tier = serializers.CharField(allow_null=True)
    points_pending = serializers.IntegerField(
        help_text="Of `points_awarded`, how many wait for the return window to pass before they can be spent."
    )
    available_at = serializers.DateTimeField(
        allow_null=True, help_text="When the pending points become spendable; null when nothing is pending."
    )
    no_points_reason = serializers.CharField(
        allow_null=True,
        help_text="Why the order earned nothing on purpose: `customer_tag_excluded` (a tag the programme excludes).",
    )


class RefundLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=MAX_AMOUNT_DIGITS, decimal_places=2, help_text="The refund's amount shared among its lines."
    )


class RefundSummarySerializer(serializers.Serializer):
    refund_id = serializers.CharField(source="external_id")
    amount = serializers.DecimalField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2)
    points_clawed_back = serializers.IntegerField()
    occurred_at = serializers.DateTimeField(help_text="When the refund happened.")
    created_at = serializers.DateTimeField(help_text="When Klubb recorded it.")
    reason = serializers.CharField(
        source="reason.code", allow_null=True, default=None, help_text="The return reason's code, if one was given."
    )
    note = serializers.CharField()
    items = RefundLineSerializer(source="lines", many=True, read_only=True)


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


class ReturnedItemSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=100, help_text="A SKU of the order's items.")
    quantity = serializers.IntegerField(min_value=1, max_value=100_000)


class RefundCreateInputSerializer(serializers.Serializer):
    refund_id = StrictCharField(max_length=100, validators=[external_id_validator])
    amount = PositiveMoneyField(max_digits=MAX_AMOUNT_DIGITS, decimal_places=2, coerce_to_string=True)
    occurred_at = StrictDateTimeField(
        required=False, allow_null=True, default=None, help_text="When the refund happened; now if left out."
    )
    reason = StrictCharField(
        max_length=50,
        required=False,
        allow_blank=True,
        default="",
        help_text="A return reason's code (`GET /api/v1/return-reasons/`), e.g. `too_small`.",
    )
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="")
    items = ReturnedItemSerializer(
        many=True,
        required=False,
        default=list,
        max_length=1000,
        help_text="The goods returned: SKUs of the order, at most what was ordered less what earlier refunds returned.",
    )

    def validate_amount(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("A refund must be more than zero.", code="min_value")
        return value

    def to_details(self) -> RefundDetails:
        data = self.validated_data
        return RefundDetails(
            occurred_at=data["occurred_at"],
            reason=data["reason"],
            note=data["note"],
            items=tuple(ReturnedItem(sku=item["sku"], quantity=item["quantity"]) for item in data["items"]),
        )


class RefundResultSerializer(serializers.Serializer):
    refund_id = serializers.CharField()
    order_id = serializers.CharField()
    member_id = serializers.UUIDField()
    points_clawed_back = serializers.IntegerField()
    balance = serializers.IntegerField()
    points_returned = serializers.IntegerField(
        help_text="Points the order's checkout spent that this refund gave back (its share)."
    )


class ReturnReasonSerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField(help_text="In the request's language.")
