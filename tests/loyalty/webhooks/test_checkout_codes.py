"""Klubb checkout codes and reward vouchers on real shop orders: Shopify's ``discount_codes[].code`` and
WooCommerce's ``coupon_lines[].code`` capture the redemption and mark the voucher used, whatever their case."""

from __future__ import annotations

from typing import Any

import pytest

from loyalty.ledger import points_adjust
from loyalty.models import Redemption, RedemptionStatus, Reward, VoucherStatus
from loyalty.rewards import redemption_reserve, reward_redeem
from members.services import member_enrol
from tests.loyalty.webhooks.support import SHOPIFY_ORDER_ID, WOO_ORDER_ID, balance_of, shopify_post, woo_post

pytestmark = pytest.mark.django_db


def customer_with_points(email: str, points: int = 1000) -> Any:
    member, _created = member_enrol(email=email, first_name="", last_name="", phone="", source="test")
    points_adjust(member=member, points=points, staff=None, reason="test setup")
    return member


def test_a_shopify_order_with_the_checkout_code_captures_it(client, shop, tiers, programme, shopify_order):
    ingrid = customer_with_points("ingrid.hansen@example.no")
    redemption = redemption_reserve(shop=shop, redemption_id="cart-1", member=ingrid, points=500).redemption
    reward_voucher = reward_redeem(member=ingrid, reward=Reward.objects.create(name="Cap", points_cost=100))
    shopify_order["discount_codes"] = [
        {"code": "VELKOMMEN10", "amount": "199.70", "type": "percentage"},
        {"code": redemption.code.lower(), "amount": "50.00", "type": "fixed_amount"},
        {"code": reward_voucher.code, "amount": "100.00", "type": "fixed_amount"},
        {"code": "", "amount": "0.00", "type": "fixed_amount"},
    ]

    response = shopify_post(client, shopify_order)

    assert response.status_code == 200, response.json()
    redemption.refresh_from_db()
    reward_voucher.refresh_from_db()
    assert (redemption.status, redemption.order_id) == (RedemptionStatus.CAPTURED, SHOPIFY_ORDER_ID)
    assert (reward_voucher.status, reward_voucher.used_order_id) == (VoucherStatus.USED, SHOPIFY_ORDER_ID)
    assert balance_of("ingrid.hansen@example.no") == 1000 - 500 - 100 + 1797


def test_a_woocommerce_coupon_with_the_checkout_code_captures_it(client, shop, tiers, programme, woo_order):
    ola = customer_with_points("ola.nordmann@example.no")
    redemption = redemption_reserve(shop=shop, redemption_id="cart-1", member=ola, points=300).redemption
    woo_order["coupon_lines"].append({"id": 904, "code": redemption.code.lower(), "discount": "3", "discount_tax": "0"})

    response = woo_post(client, woo_order)

    assert response.status_code == 200, response.json()
    redemption.refresh_from_db()
    assert (redemption.status, redemption.order_id) == (RedemptionStatus.CAPTURED, WOO_ORDER_ID)


def test_a_shopify_refund_gives_back_the_points_spent_on_the_order(client, shop, tiers, programme, shopify_order):
    ingrid = customer_with_points("ingrid.hansen@example.no")
    redemption = redemption_reserve(shop=shop, redemption_id="cart-1", member=ingrid, points=500).redemption
    shopify_order["discount_codes"] = [{"code": redemption.code, "amount": "5.00", "type": "fixed_amount"}]
    shopify_post(client, shopify_order)

    cancelled = shopify_post(client, {**shopify_order, "cancelled_at": "2026-11-21T10:00:00+01:00"},
                             topic="orders/cancelled")  # fmt: skip

    assert cancelled.status_code == 200, cancelled.json()
    assert balance_of("ingrid.hansen@example.no") == 1000
    assert Redemption.objects.get().points_returned == 500
