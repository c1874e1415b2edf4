"""What every platform's webhook shares (``loyalty/platforms/receive.py``), checked on Shopify and WooCommerce.

Signatures (HMAC-SHA256 over the raw body with the shop's own secret for that platform), deduplication of a
delivery received twice, topics Klubb does not use, shop addresses that do not exist or are inactive, and bodies
that are not a JSON object or are too large: what each is answered, and that nothing is written.
"""

from __future__ import annotations

import copy

import pytest

from loyalty.models import InboundWebhook
from tests.loyalty.webhooks.support import (
    OMIT,
    SHOPIFY_SECRET,
    WOO_SECRET,
    balance_of,
    row_counts,
    shopify_post,
    woo_post,
)

pytestmark = pytest.mark.django_db


# --- Signatures -----------------------------------------------------------------------------------


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


def test_unused_topic_with_a_bad_signature_is_still_refused(client, shop, shopify_order):
    response = shopify_post(client, shopify_order, topic="products/create", signature="Zm9yZmFsc2tldA==")

    assert response.status_code == 401


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


# --- Deduplication of deliveries ------------------------------------------------------------------


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


def test_woocommerce_redelivery_of_the_same_event_is_a_duplicate(client, shop, tiers, programme, woo_order):
    woo_post(client, woo_order, delivery_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9")
    before = row_counts()

    again = woo_post(client, woo_order, delivery_id="0a1b2c3d4e5f60718293a4b5c6d7e8f9")

    assert again.json()["status"] == "duplicate"
    assert row_counts() == before


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


# --- Topics Klubb does not use --------------------------------------------------------------------


@pytest.mark.parametrize("topic", ["products/create", "customers/create", "orders/create", "app/uninstalled"])
def test_shopify_topic_klubb_does_not_use_is_acknowledged_and_ignored(
    client, shop, tiers, programme, shopify_order, topic
):
    response = shopify_post(client, shopify_order, topic=topic)

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert set(row_counts().values()) == {0}


@pytest.mark.parametrize(
    "topic", ["order.deleted", "product.updated", "customer.created", "action.woocommerce_new_order"]
)
def test_woocommerce_topic_klubb_does_not_use_is_ignored(client, shop, tiers, programme, woo_order, topic):
    response = woo_post(client, woo_order, topic=topic)

    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert set(row_counts().values()) == {0}


# --- Addresses and bodies -------------------------------------------------------------------------


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
