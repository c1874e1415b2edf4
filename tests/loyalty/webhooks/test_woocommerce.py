"""WooCommerce's order webhooks: which statuses earn, refunds listed on the order, and the ping a new webhook sends.

WooCommerce order 4817 (``payloads/woocommerce_order.json``): jacket 1899.00 and hat 299.00 incl. VAT after the
coupon = 2198.00 (VAT 439.60), shipping 79.20 + 19.80 VAT, total 2297.00.
"""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from loyalty.models import EntryKind, InboundWebhook, LedgerEntry, Order, OrderSource, Refund, ShopCustomer
from members.models import Member
from tests.conftest import make_order
from tests.loyalty.webhooks.support import WOO_ORDER_ID, balance_of, row_counts, woo_post

pytestmark = pytest.mark.django_db


# --- Orders and the refunds listed on them --------------------------------------------------------


def test_woocommerce_pending_order_earns_nothing(client, shop, tiers, programme, woo_order):
    woo_order["status"] = "pending"
    woo_order["date_paid"] = woo_order["date_paid_gmt"] = None

    response = woo_post(client, woo_order, topic="order.created")

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.exists()
    assert not Member.objects.exists()
    assert InboundWebhook.objects.get().status == InboundWebhook.Status.IGNORED


def test_woocommerce_order_updated_to_processing_earns_on_goods_without_shipping(
    client, shop, tiers, programme, woo_order
):
    response = woo_post(client, woo_order)

    assert response.status_code == 200
    assert response.json()["status"] == "processed", response.json()
    order = Order.objects.get(shop=shop, external_id=WOO_ORDER_ID)
    assert order.amount == Decimal("2198.00")  # 2297.00 - 79.20 shipping - 19.80 shipping VAT
    assert order.tax == Decimal("439.60")  # 459.40 total VAT - 19.80 shipping VAT
    assert order.source == OrderSource.WOOCOMMERCE
    assert order.occurred_at.isoformat() == "2026-03-14T09:21:07+00:00"
    assert [(item["sku"], item["quantity"]) for item in order.items] == [("TJ-VIDDA-M", 1), ("LUE-NORDLYS", 1)]
    assert order.points_awarded == 2198
    member = Member.objects.select_related("user").get(user__email="ola.nordmann@example.no")
    assert (member.user.first_name, member.phone) == ("Ola", "+4741234567")
    assert ShopCustomer.objects.get(shop=shop, member=member).external_id == "312"
    assert balance_of("ola.nordmann@example.no") == 2198


def test_woocommerce_order_created_already_processing_earns(client, shop, tiers, programme, woo_order):
    response = woo_post(client, woo_order, topic="order.created")

    assert response.json()["status"] == "processed"
    assert balance_of("ola.nordmann@example.no") == 2198


def test_woocommerce_order_completed_after_processing_is_not_counted_twice(client, shop, tiers, programme, woo_order):
    woo_post(client, woo_order)
    completed = copy.deepcopy(woo_order)
    completed["status"] = "completed"
    completed["date_completed"], completed["date_completed_gmt"] = "2026-03-16T08:02:55", "2026-03-16T07:02:55"

    response = woo_post(client, completed)

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    assert Order.objects.count() == 1
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).count() == 1
    assert balance_of("ola.nordmann@example.no") == 2198


def test_woocommerce_partial_refund_claws_back_proportionally(client, shop, tiers, programme, woo_order):
    woo_post(client, woo_order)
    refunded_hat = copy.deepcopy(woo_order)
    refunded_hat["refunds"] = [{"id": 4821, "reason": "Feil størrelse", "total": "-299.00"}]

    response = woo_post(client, refunded_hat)

    assert response.json()["status"] == "processed"
    refund = Refund.objects.get(external_id="woocommerce-4821")
    assert refund.amount == Decimal("299.00")
    assert refund.points_clawed_back == 299  # floor(2198 x 299 / 2198)
    assert balance_of("ola.nordmann@example.no") == 2198 - 299


def test_woocommerce_refunded_order_returns_the_balance_to_its_pre_order_value(
    client, shop, tiers, programme, woo_order
):
    make_order(shop, order_id="api-77", email="ola.nordmann@example.no", amount="500.00")
    assert balance_of("ola.nordmann@example.no") == 500
    woo_post(client, woo_order)
    assert balance_of("ola.nordmann@example.no") == 500 + 2198
    partly = copy.deepcopy(woo_order)
    partly["refunds"] = [{"id": 4821, "reason": "Feil størrelse", "total": "-299.00"}]
    woo_post(client, partly)
    fully = copy.deepcopy(partly)
    fully["status"] = "refunded"
    # WooCommerce refunds the rest of the total, shipping included, and lists the newest refund first.
    fully["refunds"].insert(0, {"id": 4822, "reason": "Angrerett", "total": "-1998.00"})

    response = woo_post(client, fully)

    assert response.status_code == 200
    assert response.json()["status"] == "processed"
    order = Order.objects.get(external_id=WOO_ORDER_ID)
    assert order.refunded_amount == order.amount
    assert order.points_clawed_back == order.points_awarded
    assert balance_of("ola.nordmann@example.no") == 500


def test_woocommerce_refunded_status_without_listed_refunds_claws_back_everything(
    client, shop, tiers, programme, woo_order
):
    woo_post(client, woo_order)
    woo_order["status"] = "refunded"

    woo_post(client, woo_order)

    order = Order.objects.get(external_id=WOO_ORDER_ID)
    assert order.points_clawed_back == order.points_awarded
    assert balance_of("ola.nordmann@example.no") == 0


def test_woocommerce_update_with_edited_details_after_earning_still_applies_its_refund(
    client, shop, tiers, programme, woo_order
):
    woo_post(client, woo_order)
    edited = copy.deepcopy(woo_order)
    edited["status"] = "completed"
    edited["billing"]["phone"] = "+47 976 54 321"  # staff corrected the phone number
    edited["refunds"] = [{"id": 4821, "reason": "Feil størrelse", "total": "-299.00"}]

    response = woo_post(client, edited)

    assert response.json()["status"] == "processed", response.json()
    assert Refund.objects.filter(external_id="woocommerce-4821").exists()
    assert balance_of("ola.nordmann@example.no") == 2198 - 299


def test_woocommerce_order_in_another_currency_is_rejected(client, shop, tiers, programme, woo_order):
    woo_order["currency"] = "SEK"

    response = woo_post(client, woo_order)

    assert response.json()["status"] == "rejected"
    assert response.json()["code"] == "currency_mismatch"
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.exists()


# --- The ping WooCommerce sends when a webhook is created -----------------------------------------


def test_woocommerce_ping_on_webhook_creation_is_acknowledged_and_writes_nothing(client, shop):
    response = client.post(
        "/hooks/woocommerce/nordlys-sport/",
        data=b"webhook_id=5",
        content_type="application/x-www-form-urlencoded",
        headers={"User-Agent": "WooCommerce/9.6.2 Hookshot (WordPress/6.7.2)"},
    )

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert set(row_counts().values()) == {0}


def test_woocommerce_ping_to_an_unknown_shop_fails_so_the_merchant_sees_the_wrong_address(client, shop):
    response = client.post(
        "/hooks/woocommerce/nordlys-sporrt/", data=b"webhook_id=5", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "shop_not_found"


# --- Real shops' settings and statuses ------------------------------------------------------------


def test_woocommerce_prices_without_tax_earn_on_the_goods_without_any_tax(client, shop, tiers, programme, woo_order):
    # The same order from a shop whose prices exclude VAT: line totals 1519.20 + 239.20, all VAT on top.
    woo_order["prices_include_tax"] = False

    woo_post(client, woo_order)

    order = Order.objects.get(external_id=WOO_ORDER_ID)
    assert (order.amount, order.tax) == (Decimal("1758.40"), Decimal("0.00"))  # 2297.00 - 79.20 - 459.40
    assert order.points_awarded == 1758


@pytest.mark.parametrize("status", ["pending", "on-hold", "failed", "cancelled"])
def test_woocommerce_unpaid_or_cancelled_orders_earn_nothing(client, shop, tiers, programme, woo_order, status):
    woo_order["status"] = status

    response = woo_post(client, woo_order)

    assert response.json() == {"status": "ignored", "detail": f"status {status!r} earns nothing"}
    assert not Order.objects.exists() and not Member.objects.exists()


def test_woocommerce_order_cancelled_after_completion_takes_back_its_points_once(
    client, shop, tiers, programme, woo_order
):
    woo_order["status"] = "completed"
    woo_post(client, woo_order)
    woo_order["status"] = "cancelled"

    first = woo_post(client, woo_order)
    again = woo_post(client, woo_order)

    assert first.json() == {"status": "processed", "detail": "refund recorded"}
    assert again.json() == {"status": "processed", "detail": "refund already recorded"}
    order = Order.objects.get(external_id=WOO_ORDER_ID)
    assert (order.refunded_amount, order.points_clawed_back) == (order.amount, order.points_awarded)
    assert Refund.objects.get(order=order).external_id == f"woocommerce-{WOO_ORDER_ID}-cancelled"
    assert balance_of("ola.nordmann@example.no") == 0
