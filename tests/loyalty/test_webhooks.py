"""Native Shopify and WooCommerce webhooks, driven through the test client with signed payloads.

The payloads under ``payloads/`` follow the platforms' documented shapes (Shopify's REST Order and
Refund resources, WooCommerce's v3 REST order) for a Norwegian shop: prices include 25 % VAT, and
shipping carries VAT too. The numbers are chosen so each expected amount can be checked by hand:

Shopify order #1042: shoes 1499.00 - 149.90 discount = 1349.10, socks 2 x 249.00 - 49.80 = 448.20,
subtotal_price 1797.30 (VAT 359.46), shipping 99.00 (VAT 19.80), total 1896.30.

WooCommerce order 4817: jacket 1899.00 and hat 299.00 incl. VAT after the coupon = 2198.00 (VAT
439.60), shipping 79.20 + 19.80 VAT, total 2297.00.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from loyalty.models import (
    EntryKind,
    InboundWebhook,
    LedgerEntry,
    Order,
    OrderSource,
    PointsAccount,
    Refund,
    ShopCustomer,
)
from members.models import Member, User
from tests.conftest import make_order

pytestmark = pytest.mark.django_db

PAYLOADS = Path(__file__).parent / "payloads"
SHOPIFY_SECRET = "shopify-secret"
WOO_SECRET = "woo-secret"
SHOPIFY_ORDER_ID = "5801234567890"
WOO_ORDER_ID = "4817"
OMIT = object()


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text(encoding="utf-8"))


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def as_body(payload: dict[str, Any] | list[Any] | bytes) -> bytes:
    if isinstance(payload, bytes):
        return payload
    return json.dumps(payload, ensure_ascii=False).encode()


_delivery_counter = iter(range(1, 1_000_000))


def shopify_post(
    client: Client,
    payload: dict[str, Any] | list[Any] | bytes,
    *,
    topic: str = "orders/paid",
    webhook_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
    signature: Any = None,
    slug: str = "nordlys-sport",
):
    body = as_body(payload)
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Shop-Domain": "nordlys-sport.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-8a5f-4bf7-9d70-{next(_delivery_counter):012d}",
    }
    if signature is not OMIT:
        headers["X-Shopify-Hmac-Sha256"] = signature if signature is not None else sign(secret, body)
    return client.post(f"/hooks/shopify/{slug}/", data=body, content_type="application/json", headers=headers)


def woo_post(
    client: Client,
    payload: dict[str, Any] | bytes,
    *,
    topic: str = "order.updated",
    delivery_id: str | None = None,
    secret: str = WOO_SECRET,
    signature: Any = None,
    slug: str = "nordlys-sport",
):
    body = as_body(payload)
    resource, _, event = topic.partition(".")
    headers = {
        "X-WC-Webhook-Source": "https://nordlys-sport.no/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-ID": "5",
        "X-WC-Webhook-Delivery-ID": delivery_id or hashlib.md5(str(next(_delivery_counter)).encode()).hexdigest(),
        "User-Agent": "WooCommerce/9.6.2 Hookshot (WordPress/6.7.2)",
    }
    if signature is not OMIT:
        headers["X-WC-Webhook-Signature"] = signature if signature is not None else sign(secret, body)
    return client.post(f"/hooks/woocommerce/{slug}/", data=body, content_type="application/json", headers=headers)


def row_counts() -> dict[str, int]:
    models = (Order, Refund, LedgerEntry, InboundWebhook, Member, User, ShopCustomer, PointsAccount)
    return {model.__name__: model.objects.count() for model in models}


def balance_of(email: str) -> int:
    return PointsAccount.objects.get(member__user__email=email).balance


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db: Any):
    """Every scenario must leave ``balance == sum(entries)`` for every member."""
    yield
    call_command("check_ledger", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def shopify_order() -> dict[str, Any]:
    return load("shopify_orders_paid.json")


@pytest.fixture
def woo_order() -> dict[str, Any]:
    return load("woocommerce_order.json")


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


def test_redelivered_shopify_webhook_is_reported_as_duplicate_and_changes_nothing(
    client, shop, tiers, programme, shopify_order
):
    first = shopify_post(client, shopify_order, webhook_id="0d4b9a7e-5c1f-4f7b-9a51-7f3c2d1e0a01")
    before = row_counts()

    again = shopify_post(client, shopify_order, webhook_id="0d4b9a7e-5c1f-4f7b-9a51-7f3c2d1e0a01")

    assert first.json()["status"] == "processed"
    assert again.status_code == 200
    assert again.json()["status"] == "duplicate"
    assert row_counts() == before
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
    changed["subtotal_price"] = "9797.30"

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

    response = shopify_post(client, refund, topic="refunds/create")

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert not Refund.objects.exists()
    assert balance_of("ingrid.hansen@example.no") == 1797


# --- Shopify: refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param("c2lnbmF0dXJlLXRoYXQtZG9lcy1ub3QtbWF0Y2g=", id="wrong"),
        pytest.param(OMIT, id="missing"),
        pytest.param("", id="empty"),
        pytest.param("ugyldig-signatur-æøå", id="non-ascii"),
    ],
)
def test_shopify_delivery_with_a_bad_signature_is_refused_and_writes_nothing(
    client, shop, tiers, programme, shopify_order, signature
):
    response = shopify_post(client, shopify_order, signature=signature)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert set(row_counts().values()) == {0}


def test_shopify_delivery_signed_with_another_shops_secret_is_refused(
    client, shop, other_shop, tiers, programme, shopify_order
):
    other_shop.shopify_webhook_secret = "fjord-outdoor-secret"
    other_shop.save()

    response = shopify_post(client, shopify_order, secret="fjord-outdoor-secret")

    assert response.status_code == 401
    assert set(row_counts().values()) == {0}


def test_shop_without_a_shopify_secret_refuses_every_delivery(client, shop, tiers, programme, shopify_order):
    shop.shopify_webhook_secret = ""
    shop.save()

    response = shopify_post(client, shopify_order, secret="")  # a well-formed HMAC under the empty key

    assert response.status_code == 401
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize("topic", ["products/create", "customers/create", "orders/create", "app/uninstalled"])
def test_shopify_topic_klubb_does_not_use_is_acknowledged_and_ignored(
    client, shop, tiers, programme, shopify_order, topic
):
    response = shopify_post(client, shopify_order, topic=topic)

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert set(row_counts().values()) == {0}


def test_unused_topic_with_a_bad_signature_is_still_refused(client, shop, shopify_order):
    response = shopify_post(client, shopify_order, topic="products/create", signature="Zm9yZmFsc2tldA==")

    assert response.status_code == 401


def test_unknown_shop_slug_answers_json_404(client, shop, shopify_order):
    response = shopify_post(client, shopify_order, slug="finnes-ikke")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "shop_not_found"
    assert set(row_counts().values()) == {0}


def test_inactive_shop_answers_404(client, shop, shopify_order):
    shop.is_active = False
    shop.save()

    response = shopify_post(client, shopify_order)

    assert response.status_code == 404
    assert not InboundWebhook.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"id": 5801234567890, "subtotal_price": "1797.30"', id="truncated"),
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b'[{"id": 5801234567890}]', id="array"),
        pytest.param(b'{"id": 5801234567890, "subtotal_price": NaN}', id="nan-literal"),
    ],
)
def test_shopify_body_that_is_not_a_json_object_is_refused_with_400(client, shop, tiers, programme, body):
    response = shopify_post(client, body)

    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"
    assert set(row_counts().values()) == {0}


def test_shopify_body_over_the_size_limit_is_refused_with_413(client, shop, tiers, programme, shopify_order, settings):
    settings.KLUBB_MAX_REQUEST_BODY_BYTES = 2048
    shopify_order["note"] = "x" * 4096

    response = shopify_post(client, shopify_order)

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert set(row_counts().values()) == {0}


def test_shopify_webhook_only_accepts_post(client, shop):
    assert client.get("/hooks/shopify/nordlys-sport/").status_code == 405


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


# --- WooCommerce ----------------------------------------------------------------------------------


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


def test_woocommerce_deliveries_sharing_a_delivery_id_are_both_applied(client, shop, tiers, programme, woo_order):
    """WooCommerce derives the delivery id from the webhook id and the current second, so two
    different events in the same second carry the same id."""
    same_second = "6f1e0c2b9d4a8e7f3b5c1d0a9e8f7a6b"
    woo_post(client, woo_order, delivery_id=same_second)
    refunded_hat = copy.deepcopy(woo_order)
    refunded_hat["refunds"] = [{"id": 4821, "reason": "Feil størrelse", "total": "-299.00"}]

    response = woo_post(client, refunded_hat, delivery_id=same_second)

    assert response.json()["status"] == "processed"
    assert balance_of("ola.nordmann@example.no") == 2198 - 299


def test_woocommerce_redelivery_of_the_same_event_is_a_duplicate(client, shop, tiers, programme, woo_order):
    woo_post(client, woo_order, delivery_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    before = row_counts()

    again = woo_post(client, woo_order, delivery_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9")

    assert again.json()["status"] == "duplicate"
    assert row_counts() == before


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


@pytest.mark.parametrize(
    ("secret", "signature"),
    [
        pytest.param("not-the-woo-secret", None, id="other-secret"),
        pytest.param(WOO_SECRET, OMIT, id="missing"),
        pytest.param(WOO_SECRET, "bm9wZQ==", id="wrong"),
    ],
)
def test_woocommerce_delivery_with_a_bad_signature_is_refused_and_writes_nothing(
    client, shop, tiers, programme, woo_order, secret, signature
):
    response = woo_post(client, woo_order, secret=secret, signature=signature)

    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert set(row_counts().values()) == {0}


def test_woocommerce_delivery_signed_with_the_shopify_secret_is_refused(client, shop, tiers, programme, woo_order):
    response = woo_post(client, woo_order, secret=SHOPIFY_SECRET)

    assert response.status_code == 401
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize(
    "topic", ["order.deleted", "product.updated", "customer.created", "action.woocommerce_new_order"]
)
def test_woocommerce_topic_klubb_does_not_use_is_ignored(client, shop, tiers, programme, woo_order, topic):
    response = woo_post(client, woo_order, topic=topic)

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert set(row_counts().values()) == {0}


def test_woocommerce_order_in_another_currency_is_rejected(client, shop, tiers, programme, woo_order):
    woo_order["currency"] = "SEK"

    response = woo_post(client, woo_order)

    assert response.json()["status"] == "rejected"
    assert response.json()["code"] == "currency_mismatch"
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.exists()


def test_refund_delivered_before_its_order_claws_back_once_retried(client, shop, tiers, programme, shopify_order):
    refund = load("shopify_refund_partial.json")
    early = shopify_post(client, refund, topic="refunds/create", webhook_id="refund-early")
    assert early.status_code == 409
    shopify_post(client, shopify_order)
    retried = shopify_post(client, refund, topic="refunds/create", webhook_id="refund-early")
    assert retried.json()["status"] == "processed"
    assert Refund.objects.count() == 1
    assert Order.objects.get(shop=shop, external_id=SHOPIFY_ORDER_ID).points_clawed_back > 0
