"""Every write to points, tiers, orders, refunds, shops and keys goes through these functions."""

from __future__ import annotations

from loyalty.services.earning import earning_points
from loyalty.services.ledger import account_lock, ledger_append, points_adjust, points_redeem
from loyalty.services.members import MemberRef, member_resolve, shop_member_enrol
from loyalty.services.orders import OrderInput, OrderItem, OrderResult, order_record
from loyalty.services.refunds import RefundResult, refund_record
from loyalty.services.shops import api_key_authenticate, api_key_create, api_key_revoke, shop_create
from loyalty.services.tiers import tier_evaluate

__all__ = [
    "MemberRef",
    "OrderInput",
    "OrderItem",
    "OrderResult",
    "RefundResult",
    "account_lock",
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "earning_points",
    "ledger_append",
    "member_resolve",
    "order_record",
    "points_adjust",
    "points_redeem",
    "refund_record",
    "shop_create",
    "shop_member_enrol",
    "tier_evaluate",
]
