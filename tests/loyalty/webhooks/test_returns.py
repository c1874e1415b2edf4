"""Platforms' refunds as returns (issue 17): Shopify's note and refund lines, WooCommerce's reason, and each
platform's date for the refund, stored the way the API stores them."""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal

import pytest

from loyalty.models import Order, Refund
from tests.loyalty.webhooks.support import SHOPIFY_ORDER_ID, load, shopify_post, woo_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid(client, shop, tiers, programme, shopify_order) -> Order:
    assert shopify_post(client, shopify_order).json()["status"] == "processed"
    return Order.objects.get(shop=shop, external_id=SHOPIFY_ORDER_ID)


def test_a_shopify_refund_keeps_its_note_lines_and_date(client, paid):
    response = shopify_post(client, load("shopify_refund_partial.json"), topic="refunds/create")

    assert response.json()["status"] == "processed"
    refund = Refund.objects.get()
    # "Feil størrelse på sokkene" names none of the reasons: kept as the note, under "other"
    assert (refund.reason.code, refund.note) == ("other", "Feil størrelse på sokkene")
    assert refund.occurred_at == dt.datetime(2026, 3, 20, 13, 2, 11, tzinfo=dt.UTC)  # processed_at
    line = refund.lines.get()
    assert (line.sku, line.name, line.quantity, line.amount) == ("US-3PK-M", "Ullsokker 3-pk", 2, Decimal("448.20"))


def test_a_shopify_note_that_names_a_reason_is_that_reason(client, paid):
    payload = load("shopify_refund_partial.json")
    payload["note"] = "Too small"
    shopify_post(client, payload, topic="refunds/create")
    refund = Refund.objects.get()
    assert (refund.reason.code, refund.note) == ("too_small", "")


def test_a_shopify_refund_line_the_order_lacks_is_left_out_not_refused(client, paid):
    payload = load("shopify_refund_partial.json")
    stranger = copy.deepcopy(payload["refund_line_items"][0])
    stranger["line_item"]["sku"] = "NOT-ORDERED"
    payload["refund_line_items"][0]["quantity"] = 5  # more than the 2 ordered: cut to what is left
    payload["refund_line_items"].append(stranger)
    response = shopify_post(client, payload, topic="refunds/create")
    assert response.json()["status"] == "processed"
    refund = Refund.objects.get()
    assert list(refund.lines.values_list("sku", "quantity")) == [("US-3PK-M", 2)]
    assert refund.points_clawed_back > 0  # the points follow the money, whatever the lines said


def test_a_shopify_cancellation_happened_when_it_was_cancelled(client, paid, shopify_order):
    cancelled = copy.deepcopy(shopify_order)
    cancelled["cancelled_at"] = "2026-03-15T08:00:00+01:00"
    cancelled["cancel_reason"] = "customer"
    assert shopify_post(client, cancelled, topic="orders/cancelled").json()["status"] == "processed"
    assert Refund.objects.get().occurred_at == dt.datetime(2026, 3, 15, 7, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("reason", "code", "note"),
    [("Feil størrelse", "other", "Feil størrelse"), ("damaged", "damaged", ""), ("", None, "")],
)
def test_a_woocommerce_refunds_reason_is_stored_like_the_apis(
    client, shop, tiers, programme, woo_order, reason, code, note
):
    woo_post(client, woo_order)
    refunded = copy.deepcopy(woo_order)
    refunded["refunds"] = [{"id": 4821, "reason": reason, "total": "-299.00"}]
    assert woo_post(client, refunded).json()["status"] == "processed"
    refund = Refund.objects.get()
    assert (refund.reason.code if refund.reason else None, refund.note) == (code, note)


def test_a_woocommerce_refund_with_its_date_happened_then(client, shop, tiers, programme, woo_order):
    woo_post(client, woo_order)
    refunded = copy.deepcopy(woo_order)
    refunded["refunds"] = [
        {"id": 4821, "reason": "", "total": "-299.00", "date_created_gmt": "2026-03-18T10:00:00"},
    ]
    woo_post(client, refunded)
    assert Refund.objects.get().occurred_at == dt.datetime(2026, 3, 18, 10, 0, tzinfo=dt.UTC)
