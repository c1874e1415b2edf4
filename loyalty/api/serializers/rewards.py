"""Vouchers: a reward paid with points, or a personal win-back offer, as a shop checks and uses it."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from loyalty.api.serializers.fields import StrictCharField, external_id_validator


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
