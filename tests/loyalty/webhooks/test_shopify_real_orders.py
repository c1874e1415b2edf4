"""Shopify orders as shops really send them: test, cancelled and unpaid orders, gift cards, orders paid in
another currency, and cancellations.

Shopify order #1042 (``payloads/shopify_orders_paid.json``): shoes 1499.00 - 149.90 = 1349.10, socks
2 x 249.00 - 49.80 = 448.20: 1797.30 of goods after discounts, VAT 359.46 in them; shipping 99.00.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.models import InboundWebhook, Order, Refund
from members.models import Member
from tests.loyalty.webhooks.support import SHOPIFY_ORDER_ID, balance_of, load, shopify_post

pytestmark = pytest.mark.django_db

EMAIL = "ingrid.hansen@example.no"


def money_set(shop_amount: str, presentment_amount: str, currency: str = "EUR") -> dict:
    return {
        "shop_money": {"amount": shop_amount, "currency_code": "NOK"},
        "presentment_money": {"amount": presentment_amount, "currency_code": currency},
    }


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"test": True}, "a test order earns nothing"),
        ({"cancelled_at": "2026-11-20T12:00:00+01:00", "cancel_reason": "customer"}, "a cancelled order earns nothing"),
        ({"financial_status": "voided"}, "financial status 'voided' earns nothing"),
        ({"financial_status": "pending"}, "financial status 'pending' earns nothing"),
    ],
)
def test_a_test_cancelled_or_unpaid_order_earns_nothing_and_enrols_nobody(
    client, shop, tiers, programme, shopify_order, change, why
):
    shopify_order.update(change)

    response = shopify_post(client, shopify_order)

    assert response.status_code == 200
    assert response.json() == {"status": "ignored", "detail": why}
    assert not Order.objects.exists()
    assert not Member.objects.exists()
    assert InboundWebhook.objects.get().status == InboundWebhook.Status.IGNORED


def test_gift_cards_never_earn_and_refunding_every_goods_line_takes_back_every_point(
    client, shop, tiers, programme, shopify_order
):
    gift_card = {"id": 14100000000009, "title": "Gavekort", "sku": "", "quantity": 1, "price": "500.00",
                 "gift_card": True, "taxable": False, "tax_lines": [], "discount_allocations": []}  # fmt: skip
    shopify_order["line_items"].append(gift_card)
    shopify_order["subtotal_price"] = "2297.30"  # Shopify's subtotal counts the gift card

    shopify_post(client, shopify_order)

    order = Order.objects.get(external_id=SHOPIFY_ORDER_ID)
    assert (order.amount, order.tax, order.points_awarded) == (Decimal("1797.30"), Decimal("359.46"), 1797)
    assert [item["sku"] for item in order.items] == ["LS-FJELL-42", "US-3PK-M"]
    shopify_post(client, load("shopify_refund_partial.json"), topic="refunds/create")
    shopify_post(client, load("shopify_refund_rest.json"), topic="refunds/create")
    order.refresh_from_db()
    assert order.points_clawed_back == order.points_awarded  # nothing left behind
    assert balance_of(EMAIL) == 0


def test_an_order_paid_in_another_currency_earns_on_its_shop_currency_amounts(
    client, shop, tiers, programme, shopify_order
):
    shopify_order["presentment_currency"] = "EUR"
    shoes, socks = shopify_order["line_items"]
    # The buyer paid in euros; the plain fields carry euros, the *_set fields both.
    shoes.update(price="129.00", price_set=money_set("1499.00", "129.00"))
    shoes["discount_allocations"] = [{"amount": "12.90", "amount_set": money_set("149.90", "12.90")}]
    shoes["tax_lines"] = [{"price": "23.22", "price_set": money_set("269.82", "23.22"), "rate": 0.25}]
    socks.update(price="21.43", price_set=money_set("249.00", "21.43"))
    socks["discount_allocations"] = [{"amount": "4.29", "amount_set": money_set("49.80", "4.29")}]
    socks["tax_lines"] = [{"price": "7.71", "price_set": money_set("89.64", "7.71"), "rate": 0.25}]

    shopify_post(client, shopify_order)

    order = Order.objects.get(external_id=SHOPIFY_ORDER_ID)
    assert (order.currency, order.amount, order.tax) == ("NOK", Decimal("1797.30"), Decimal("359.46"))
    assert [item["unit_price"] for item in order.items] == ["1499.00", "249.00"]


def test_prices_without_tax_have_no_tax_taken_out(client, shop, tiers, programme, shopify_order):
    shopify_order["taxes_included"] = False

    shopify_post(client, shopify_order)

    assert Order.objects.get(external_id=SHOPIFY_ORDER_ID).tax == Decimal("0.00")


def test_a_cancelled_order_takes_back_what_its_refunds_have_not(client, shop, tiers, programme, shopify_order):
    shopify_post(client, shopify_order)
    shopify_post(client, load("shopify_refund_partial.json"), topic="refunds/create")  # 448 points back
    cancelled = {**shopify_order, "cancelled_at": "2026-11-21T09:00:00+01:00", "cancel_reason": "customer"}

    response = shopify_post(client, cancelled, topic="orders/cancelled")

    assert response.json() == {"status": "processed", "detail": "refund recorded"}
    order = Order.objects.get(external_id=SHOPIFY_ORDER_ID)
    assert (order.refunded_amount, order.points_clawed_back) == (order.amount, order.points_awarded)
    assert balance_of(EMAIL) == 0
    # Shopify's own refund for the cancellation arrives after it: nothing is left to take.
    late = shopify_post(client, load("shopify_refund_rest.json"), topic="refunds/create")
    assert late.json() == {"status": "processed", "detail": "nothing left to refund"}
    again = shopify_post(client, cancelled, topic="orders/cancelled")  # a redelivery under a new id
    assert again.json()["status"] == "processed"
    assert Refund.objects.filter(order=order).count() == 2
    assert balance_of(EMAIL) == 0


def test_cancelling_an_order_that_never_earned_writes_nothing(client, shop, tiers, programme, shopify_order):
    shopify_order["cancelled_at"] = "2026-11-21T09:00:00+01:00"

    response = shopify_post(client, shopify_order, topic="orders/cancelled")

    assert response.json() == {"status": "ignored", "detail": "the order was never counted"}
    assert not Order.objects.exists() and not Refund.objects.exists() and not Member.objects.exists()


def test_a_shop_trying_the_club_out_can_let_test_orders_earn(client, shop, tiers, programme, shopify_order):
    shop.count_test_orders = True
    shop.save()
    shopify_order["test"] = True

    response = shopify_post(client, shopify_order)

    assert response.json()["status"] == "processed"
    assert Order.objects.get(external_id=SHOPIFY_ORDER_ID).points_awarded == 1797


def test_a_cancellation_that_beats_its_paid_order_waits_for_it_and_then_takes_the_points_back(
    client, shop, tiers, programme, shopify_order
):
    shopify_order["processed_at"] = shopify_order["created_at"] = timezone.now().isoformat()
    cancelled = {**shopify_order, "cancelled_at": timezone.now().isoformat(), "cancel_reason": "customer"}

    early = shopify_post(client, cancelled, topic="orders/cancelled", webhook_id="cancel-1")
    paid = shopify_post(client, shopify_order, webhook_id="paid-1")
    retried = shopify_post(client, cancelled, topic="orders/cancelled", webhook_id="cancel-1")  # Shopify's retry

    assert early.status_code == 409 and early.json()["code"] == "order_not_yet_received"
    assert paid.status_code == 200 and Order.objects.get().points_awarded == 1797
    assert retried.status_code == 200, retried.json()
    assert balance_of(EMAIL) == 0
