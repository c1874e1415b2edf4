"""Posting a delivery as Shopify or WooCommerce does, signed with the shop's secret, and reading the results.

The payloads under ``tests/loyalty/payloads/`` follow the platforms' documented shapes (Shopify's REST Order and
Refund resources, WooCommerce's v3 REST order) for a Norwegian shop: prices include 25 % VAT, and shipping carries
VAT too. The tests next to this module say what each payload's amounts are.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

from django.test import Client

from loyalty.models import InboundWebhook, LedgerEntry, Order, PointsAccount, Refund, ShopCustomer
from members.models import Member, User

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"
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
