"""Shopify's orders/paid and refunds/create webhooks: what an order earns, whom it credits, and what a refund
claws back.

Shopify order #1042 (``payloads/shopify_orders_paid.json``): shoes 1499.00 - 149.90 discount = 1349.10, socks
2 x 249.00 - 49.80 = 448.20, subtotal_price 1797.30 (VAT 359.46), shipping 99.00 (VAT 19.80), total 1896.30.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from loyalty.models import EntryKind, InboundWebhook, LedgerEntry, Order, OrderSource, Refund, ShopCustomer
from members.models import Member, User
from tests.conftest import make_order
from tests.loyalty.webhooks.support import SHOPIFY_ORDER_ID, balance_of, load, row_counts, shopify_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, shop, tiers, programme, shopify_order) -> Order:
    """Shopify order #1042, received and recorded."""
    response = shopify_post(client, shopify_order)
    assert response.json()["status"] == "processed", response.json()
    return Order.objects.get(shop=shop, external_id=SHOPIFY_ORDER_ID)


# --- Shopify: orders/paid -------------------------------------------------------------------------


def test_shopify_paid_order_earns_on_the_discounted_subtotal_without_shipping(
    client, shop, tiers, programme, shopify_order
):
    response = shopify_post(client, shopify_order)

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    order = Order.objects.get(shop=shop, external_id=SHOPIFY_ORDER_ID)
    assert order.amount == Decimal("1797.30")  # subtotal_price: discount taken off, shipping not added
    assert order.tax == Decimal("359.46")  # total_tax 379.26 less the 19.80 VAT on shipping
    assert order.currency == "NOK"
    assert order.source == OrderSource.SHOPIFY
    assert order.points_awarded == 1797
    entry = LedgerEntry.objects.get(order=order)
    assert (entry.kind, entry.points, entry.balance_after) == (EntryKind.EARN, 1797, 1797)
    assert balance_of("ingrid.hansen@example.no") == 1797


def test_shopify_paid_order_enrols_the_buyer_by_email_and_links_the_customer_id(
    client, shop, tiers, programme, shopify_order
):
    shopify_post(client, shopify_order)

    member = Member.objects.select_related("user").get(user__email="ingrid.hansen@example.no")
    assert (member.user.first_name, member.user.last_name, member.phone) == ("Ingrid", "Hansen", "+4791234567")
    link = ShopCustomer.objects.get(shop=shop, member=member)
    assert link.external_id == "7301234567890"
    assert Order.objects.get(external_id=SHOPIFY_ORDER_ID).member == member


def test_shopify_paid_order_keeps_its_line_items(client, shop, tiers, programme, shopify_order):
    shopify_post(client, shopify_order)

    items = Order.objects.get(external_id=SHOPIFY_ORDER_ID).items
    assert items == [
        {
            "sku": "LS-FJELL-42",
            "name": "Løpesko Fjellstorm",
            "category": "Løpesko",
            "quantity": 1,
            "unit_price": "1499.00",
        },
        {"sku": "US-3PK-M", "name": "Ullsokker 3-pk", "category": "Tilbehør", "quantity": 2, "unit_price": "249.00"},
    ]


def test_shopify_order_for_a_known_customer_id_credits_the_linked_member_even_with_a_new_email(
    client, shop, tiers, programme, member, shopify_order
):
    ShopCustomer.objects.create(shop=shop, member=member, external_id="7301234567890")
    shopify_order["email"] = shopify_order["contact_email"] = shopify_order["customer"]["email"] = "kari.ny@example.no"

    shopify_post(client, shopify_order)

    assert Order.objects.get(external_id=SHOPIFY_ORDER_ID).member == member
    assert not User.objects.filter(email="kari.ny@example.no").exists()
    assert balance_of("kari@example.com") == 1797


def test_shopify_order_with_an_unusable_phone_still_earns(client, shop, tiers, programme, shopify_order):
    shopify_order["customer"]["phone"] = "ring etter kl 16"

    response = shopify_post(client, shopify_order)

    assert response.json()["status"] == "processed", response.json()
    member = Member.objects.get(user__email="ingrid.hansen@example.no")
    assert member.phone == ""
    assert balance_of("ingrid.hansen@example.no") == 1797


def test_same_shopify_order_under_a_new_webhook_id_awards_points_once(client, shop, tiers, programme, shopify_order):
    shopify_post(client, shopify_order)

    again = shopify_post(client, shopify_order)

    assert again.status_code == 200
    assert again.json() == {"status": "processed", "detail": "order already recorded"}
    assert Order.objects.filter(external_id=SHOPIFY_ORDER_ID).count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).count() == 1
    assert balance_of("ingrid.hansen@example.no") == 1797


def test_same_shopify_order_id_with_other_data_is_rejected_without_points(
    client, shop, tiers, programme, shopify_order
):
    shopify_post(client, shopify_order)
    changed = copy.deepcopy(shopify_order)
    changed["line_items"][0]["price"] = "9499.00"

    response = shopify_post(client, changed)

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["code"] == "idempotency_conflict"
    assert balance_of("ingrid.hansen@example.no") == 1797


def test_guest_shopify_order_without_email_or_customer_is_recorded_as_rejected(
    client, shop, tiers, programme, shopify_order
):
    guest = copy.deepcopy(shopify_order)
    guest["email"] = guest["contact_email"] = None
    guest["customer"] = None
    before = row_counts()

    response = shopify_post(client, guest, webhook_id="guest-delivery-1")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["code"] == "member_not_enrollable"
    log = InboundWebhook.objects.get(webhook_id="guest-delivery-1")
    assert log.status == InboundWebhook.Status.REJECTED
    assert log.topic == "orders/paid"
    assert log.detail.startswith("member_not_enrollable")
    after = row_counts()
    assert after.pop("InboundWebhook") == before.pop("InboundWebhook") + 1
    assert after == before  # no order, no ledger entry, no member


def test_shopify_order_in_another_currency_is_rejected(client, shop, tiers, programme, shopify_order):
    shopify_order["currency"] = shopify_order["presentment_currency"] = "SEK"

    response = shopify_post(client, shopify_order)

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["code"] == "currency_mismatch"
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert InboundWebhook.objects.get().status == InboundWebhook.Status.REJECTED


def test_shopify_payload_with_oddly_shaped_parts_is_answered_not_a_server_error(
    client, shop, tiers, programme, shopify_order
):
    shopify_order["customer"] = "7301234567890"
    shopify_order["line_items"] = [shopify_order["line_items"][0], "not-an-item", None]
    shopify_order["shipping_lines"] = {"price": "99.00"}

    response = shopify_post(client, shopify_order)

    assert response.status_code == 200
    assert response.json()["status"] == "processed", response.json()
    order = Order.objects.get(external_id=SHOPIFY_ORDER_ID)
    assert [item["sku"] for item in order.items] == ["LS-FJELL-42"]


# --- Shopify: refunds/create ----------------------------------------------------------------------


def test_partial_shopify_refund_claws_back_its_share_of_the_points(client, paid):
    response = shopify_post(client, load("shopify_refund_partial.json"), topic="refunds/create")

    assert response.status_code == 200
    assert response.json() == {"status": "processed", "detail": "refund recorded"}
    refund = Refund.objects.get(order=paid)
    assert refund.external_id == "shopify-960012345601"
    assert refund.amount == Decimal("448.20")
    # floor(1797 x 448.20 / 1797.30) = 448
    assert refund.points_clawed_back == 448
    entry = LedgerEntry.objects.get(refund=refund)
    assert (entry.kind, entry.points) == (EntryKind.CLAWBACK, -448)
    assert balance_of("ingrid.hansen@example.no") == 1797 - 448


def test_second_shopify_refund_for_the_rest_claws_back_exactly_what_was_awarded(client, paid):
    shopify_post(client, load("shopify_refund_partial.json"), topic="refunds/create")

    shopify_post(client, load("shopify_refund_rest.json"), topic="refunds/create")

    paid.refresh_from_db()
    assert paid.refunded_amount == paid.amount == Decimal("1797.30")
    assert paid.points_clawed_back == paid.points_awarded == 1797
    assert balance_of("ingrid.hansen@example.no") == 0


def test_shopify_refund_received_twice_under_different_webhook_ids_claws_back_once(client, paid):
    refund = load("shopify_refund_partial.json")
    shopify_post(client, refund, topic="refunds/create")

    again = shopify_post(client, refund, topic="refunds/create")

    assert again.json() == {"status": "processed", "detail": "refund already recorded"}
    assert Refund.objects.count() == 1
    assert balance_of("ingrid.hansen@example.no") == 1797 - 448


def test_shopify_refund_by_amount_only_leaves_the_refunded_shipping_out(client, paid):
    response = shopify_post(client, load("shopify_refund_amount_only.json"), topic="refunds/create")

    assert response.json()["status"] == "processed"
    refund = Refund.objects.get(order=paid)
    # 599.00 returned, of which 79.20 + 19.80 VAT was shipping.
    assert refund.amount == Decimal("500.00")
    assert refund.points_clawed_back == 499  # floor(1797 x 500 / 1797.30)
    assert balance_of("ingrid.hansen@example.no") == 1797 - 499


def test_shopify_refund_with_refund_shipping_lines_leaves_the_shipping_out(client, paid):
    """API versions from 2024-10 report refunded shipping in refund_shipping_lines, not order_adjustments."""
    refund = load("shopify_refund_amount_only.json")
    refund["order_adjustments"] = []
    refund["refund_shipping_lines"] = [
        {
            "id": 8800000000001,
            "shipping_line_id": 4700000000001,
            "subtotal_amount_set": {
                "shop_money": {"amount": "79.20", "currency_code": "NOK"},
                "presentment_money": {"amount": "79.20", "currency_code": "NOK"},
            },
            "tax_amount_set": {
                "shop_money": {"amount": "19.80", "currency_code": "NOK"},
                "presentment_money": {"amount": "19.80", "currency_code": "NOK"},
            },
        }
    ]

    shopify_post(client, refund, topic="refunds/create")

    assert Refund.objects.get(order=paid).amount == Decimal("500.00")


def test_shopify_refund_larger_than_what_is_left_is_clamped_to_the_order(client, paid):
    shopify_post(client, load("shopify_refund_partial.json"), topic="refunds/create")
    everything = load("shopify_refund_rest.json")
    everything["refund_line_items"][0]["subtotal"] = 1797.30  # platform reports the whole order again

    response = shopify_post(client, everything, topic="refunds/create")

    assert response.json()["status"] == "processed"
    paid.refresh_from_db()
    assert paid.refunded_amount == paid.amount
    assert balance_of("ingrid.hansen@example.no") == 0


def test_shopify_refund_that_beats_its_order_is_retried_not_lost(client, shop, tiers, programme, member):
    make_order(shop, order_id="1001", email="kari@example.com", amount="400.00")
    refund = load("shopify_refund_partial.json")
    refund["order_id"] = 5809999999999
    entries_before = LedgerEntry.objects.count()

    response = shopify_post(client, refund, topic="refunds/create", webhook_id="refund-unknown-order")

    # 409 and nothing written, so Shopify delivers it again once the order may have arrived.
    assert response.status_code == 409
    assert response.json()["code"] == "order_not_yet_received"
    assert not InboundWebhook.objects.filter(webhook_id="refund-unknown-order").exists()
    assert not Refund.objects.exists()
    assert LedgerEntry.objects.count() == entries_before
    assert balance_of("kari@example.com") == 400


def test_shopify_refund_with_a_non_numeric_amount_is_rejected_not_a_server_error(client, paid):
    refund = load("shopify_refund_partial.json")
    refund["refund_line_items"][0]["subtotal"] = "NaN"
    refund["refund_line_items"][0]["subtotal_set"]["shop_money"]["amount"] = "NaN"

    response = shopify_post(client, refund, topic="refunds/create")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert not Refund.objects.exists()
    assert balance_of("ingrid.hansen@example.no") == 1797


def test_refund_delivered_before_its_order_claws_back_once_retried(client, shop, tiers, programme, shopify_order):
    refund = load("shopify_refund_partial.json")
    early = shopify_post(client, refund, topic="refunds/create", webhook_id="refund-early")
    assert early.status_code == 409
    shopify_post(client, shopify_order)
    retried = shopify_post(client, refund, topic="refunds/create", webhook_id="refund-early")
    assert retried.json()["status"] == "processed"
    assert Refund.objects.count() == 1
    assert Order.objects.get(shop=shop, external_id=SHOPIFY_ORDER_ID).points_clawed_back > 0
