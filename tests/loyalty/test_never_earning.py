"""Lines that never earn: gift cards, and the categories and SKUs staff exclude; live orders, previews and
the import treat them alike, and orders recorded before keep their fingerprints."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest

from loyalty.models import EarningRule, Order, RuleKind
from loyalty.orders import OrderItem, order_rows_read, orders_import
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db

SHOES = {"sku": "RUN-1", "name": "Shoe", "category": "running", "quantity": 1, "unit_price": "800.00"}
GIFT_CARD = {"sku": "GC-500", "name": "Gift card", "category": "gifts", "quantity": 1, "unit_price": "200.00",
             "gift_card": True}  # fmt: skip


def test_a_gift_card_line_takes_its_share_of_the_amount_with_it(api, shop, tiers, programme):
    response = api.post("/api/v1/orders/", order_payload(amount="1000.00", items=[SHOES, GIFT_CARD]), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["points_awarded"] == 800
    assert Order.objects.get().items[1]["gift_card"] is True


def test_categories_and_skus_staff_exclude_never_earn_nor_count_for_campaigns(api, shop, tiers, programme):
    programme.never_earning_categories, programme.never_earning_skus = "Tobacco, gifts", "DEP-1"
    programme.save()
    EarningRule.objects.create(name="Double everything", kind=RuleKind.MULTIPLIER, multiplier=Decimal("2"),
                               starts_at="2026-01-01T00:00:00Z")  # fmt: skip
    snus = {"sku": "SN-1", "name": "Snus", "category": "tobacco", "quantity": 2, "unit_price": "50.00"}
    deposit = {"sku": "dep-1", "name": "Pant", "category": "", "quantity": 1, "unit_price": "100.00"}
    cart = {"amount": "1000.00", "currency": "NOK", "items": [SHOES, snus, deposit]}

    preview = api.post("/api/v1/points/preview/", cart, format="json").json()
    order = api.post("/api/v1/orders/", order_payload(amount="1000.00", items=[SHOES, snus, deposit]), format="json")

    # 800 of 1000 earns: base 800, and the campaign doubles only that.
    assert preview["lines"] == [{"rule": "base", "points": 800}, {"rule": "Double everything", "points": 800}]
    assert order.json()["points_awarded"] == preview["points"] == 1600


def test_the_import_leaves_gift_cards_out_like_the_api(shop, tiers, programme):
    row = {"order_id": "H-1", "member": {"email": "kari@example.com"}, "amount": "1000.00", "currency": "NOK",
           "occurred_at": "2026-11-01T10:00:00+01:00", "items": [SHOES, GIFT_CARD]}  # fmt: skip

    report = orders_import(shop=shop, rows=order_rows_read(io.StringIO(json.dumps(row) + "\n"), format="jsonl"))

    assert report.imported == 1
    assert Order.objects.get(external_id="H-1").points_awarded == 800


def test_an_item_without_a_gift_card_keeps_the_fingerprint_orders_were_recorded_with():
    item = OrderItem(sku="RUN-1", name="Shoe", category="running", quantity=1, unit_price=Decimal("800.00"))

    assert item.as_json() == {"sku": "RUN-1", "name": "Shoe", "category": "running", "quantity": 1,
                              "unit_price": "800.00"}  # fmt: skip


def test_an_order_below_the_smallest_amount_that_earns_gets_no_base_points(api, shop, tiers, programme):
    programme.min_earning_amount = Decimal("100.00")
    programme.save()

    small = api.post("/api/v1/orders/", order_payload(order_id="S", amount="99.99"), format="json")
    enough = api.post("/api/v1/orders/", order_payload(order_id="E", amount="100.00"), format="json")

    assert (small.json()["points_awarded"], enough.json()["points_awarded"]) == (0, 100)
