"""Vouchers: a reward paid with points, a personal win-back offer or a friend's discount, as a shop checks and uses
it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from loyalty.api.serializers.fields import StrictCharField, external_id_validator


class VoucherDiscountSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["amount", "percent"], help_text="An amount off, or a percent off.")
    value = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="The amount, or the percent.")
    minimum_order = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The smallest order it applies to (0.00: any)."
    )
    currency = serializers.CharField(help_text="The currency of the amount and the minimum order.")


class VoucherSerializer(serializers.Serializer):
    code = serializers.CharField()
    valid = serializers.BooleanField(help_text="True while the voucher can still be used.")
    status = serializers.ChoiceField(choices=["issued", "used", "cancelled"])
    kind = serializers.ChoiceField(
        choices=["reward", "winback", "friend_discount"],
        help_text="A reward paid with points, a personal win-back offer, or a referred friend's discount.",
    )
    reward_id = serializers.IntegerField(allow_null=True, help_text="Null for a win-back code or a friend's discount.")
    reward_name = serializers.CharField(help_text="What the voucher gives: the reward, or the win-back offer.")
    how_to_use = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="After this the code is not valid.")
    member_id = serializers.UUIDField(
        allow_null=True, help_text="Null for a referrer's code used as a friend's discount."
    )
    issued_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    used_order_id = serializers.CharField(
        allow_null=True, help_text="The order it was used on, shown only to the shop that used it."
    )
    discount = VoucherDiscountSerializer(
        allow_null=True, help_text="A friend's discount: what the shop takes off the order. Null for other vouchers."
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
            "discount": None,
        }


class VoucherRedeemInputSerializer(serializers.Serializer):
    order_id = StrictCharField(max_length=100, validators=[external_id_validator])
