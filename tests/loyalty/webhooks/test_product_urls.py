"""Platforms give an order item its product's address (issue 17), for the replenishment reminder's link: Shopify
by the line item's product handle on the storefront the order's status page is on, WooCommerce by the item's
permalink. A link the API would refuse is left out; the order still earns."""

from __future__ import annotations

import pytest

from loyalty.models import Order, ReplenishmentReminder, ReplenishmentRule
from tests.loyalty.webhooks.support import SHOPIFY_ORDER_ID, WOO_ORDER_ID, shopify_post, woo_post

pytestmark = pytest.mark.django_db


def test_a_shopify_line_items_handle_becomes_its_url_on_the_storefront(client, shop, tiers, programme, shopify_order):
    ReplenishmentRule.objects.create(name="Socks", sku="US-3PK-M", interval_days=3650, remind_days_before=7)
    shopify_order["order_status_url"] = "https://nordlys-sport.no/548380009/orders/123456abcd/authenticate?key=x"
    shopify_order["line_items"][1]["handle"] = "ullsokker-3-pk"

    assert shopify_post(client, shopify_order).json()["status"] == "processed"

    items = Order.objects.get(external_id=SHOPIFY_ORDER_ID).items
    assert "url" not in items[0]  # no handle: no link
    assert items[1]["url"] == "https://nordlys-sport.no/products/ullsokker-3-pk"
    assert ReplenishmentReminder.objects.get().url == "https://nordlys-sport.no/products/ullsokker-3-pk"


def test_a_woocommerce_items_permalink_becomes_its_url(client, shop, tiers, programme, woo_order):
    woo_order["line_items"][0]["permalink"] = "https://nordlys-sport.no/produkt/tjukkas-vidda/"
    woo_order["line_items"][1]["permalink"] = "javascript:alert(1)"  # refused by the API: left out

    assert woo_post(client, woo_order).json()["status"] == "processed"

    order = Order.objects.get(external_id=WOO_ORDER_ID)
    assert order.items[0]["url"] == "https://nordlys-sport.no/produkt/tjukkas-vidda/"
    assert "url" not in order.items[1]
    assert order.points_awarded == 2198


@pytest.mark.parametrize("page", [None, "", "not a url", "ftp://nordlys-sport.no/orders/1", 42])
def test_shopify_without_a_usable_status_page_gives_no_link_and_still_earns(
    client, shop, tiers, programme, shopify_order, page
):
    shopify_order["order_status_url"] = page
    shopify_order["line_items"][0]["handle"] = "lopesko-fjellstorm"

    assert shopify_post(client, shopify_order).json()["status"] == "processed"

    order = Order.objects.get(external_id=SHOPIFY_ORDER_ID)
    assert all("url" not in item for item in order.items)
    assert order.points_awarded == 1797
