"""Customers the programme excludes from earning (wholesale, staff, B2B): their orders are recorded and answered
with ``points_awarded: 0`` and why, whether they come over the API, from Shopify (customer tags) or from
WooCommerce (the customer's role)."""

from __future__ import annotations

import pytest

from loyalty.models import LedgerEntry, Order, PointsAccount
from tests.conftest import order_payload
from tests.loyalty.webhooks.support import SHOPIFY_ORDER_ID, WOO_ORDER_ID, load, shopify_post, woo_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def excluding(programme):
    programme.never_earning_customer_tags = "Wholesale, staff"
    programme.save()
    return programme


def test_an_order_of_an_excluded_customer_is_recorded_with_no_points_and_why(api, shop, tiers, excluding):
    reply = api.post("/api/v1/orders/", order_payload(customer_tags=["vip", "WHOLESALE"]), format="json")

    assert reply.status_code == 201, reply.json()
    body = reply.json()
    assert (body["points_awarded"], body["no_points_reason"]) == (0, "customer_tag_excluded")
    assert Order.objects.get().points_awarded == 0
    assert not LedgerEntry.objects.exists()
    assert PointsAccount.objects.get().balance == 0


def test_other_tags_earn_as_usual(api, shop, tiers, excluding):
    reply = api.post("/api/v1/orders/", order_payload(customer_tags=["vip"]), format="json")

    assert reply.json()["points_awarded"] == 1000 and reply.json()["no_points_reason"] is None


def test_the_preview_says_an_excluded_customer_earns_nothing(api, shop, tiers, excluding):
    reply = api.post(
        "/api/v1/points/preview/",
        {"amount": "1000.00", "currency": "NOK", "customer_tags": ["staff"]},
        format="json",
    )

    assert reply.json()["points"] == 0


def test_a_shopify_customer_tagged_wholesale_earns_nothing(client, shop, tiers, excluding):
    order = load("shopify_orders_paid.json")
    order["customer"]["tags"] = "Newsletter, wholesale"

    response = shopify_post(client, order)

    assert response.status_code == 200, response.json()
    recorded = Order.objects.get(external_id=SHOPIFY_ORDER_ID)
    assert recorded.points_awarded == 0 and recorded.response["no_points_reason"] == "customer_tag_excluded"


def test_a_woocommerce_customer_whose_role_is_excluded_earns_nothing(client, shop, tiers, excluding):
    order = load("woocommerce_order.json")
    order.setdefault("meta_data", []).append({"id": 1, "key": "customer_role", "value": "wholesale_customer, staff"})

    response = woo_post(client, order)

    assert response.status_code == 200, response.json()
    assert Order.objects.get(external_id=WOO_ORDER_ID).points_awarded == 0
