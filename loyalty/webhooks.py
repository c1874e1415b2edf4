"""Native Shopify and WooCommerce webhooks, mapped onto the same services as the REST API.

A delivery is verified (HMAC-SHA256 over the raw body with the shop's secret), deduplicated by the
platform's delivery id, translated into the shop API's order/refund shape, validated by the same
serializers, and recorded. Answers:

* 401 for a missing or bad signature, 400 for a body that is not JSON, 413 for one too large:
  nothing is written.
* 200 for everything else, so the platform does not retry what a retry cannot fix: unknown topics
  and statuses are ignored, redeliveries are reported as duplicates, and orders our rules refuse
  are recorded as rejected (visible to staff under "Received webhooks").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import serializers

from loyalty.api_errors import PayloadTooLarge, flatten_errors, read_limited_body
from loyalty.errors import LoyaltyError, OrderNotFound
from loyalty.models import InboundWebhook, Order, OrderSource, Shop
from loyalty.serializers import OrderCreateInputSerializer, RefundCreateInputSerializer
from loyalty.services import order_record, refund_record

Handler = Callable[[Shop, dict[str, Any]], str]

SHOPIFY_TOPICS = {"orders/paid", "refunds/create"}
WOOCOMMERCE_TOPICS = {"order.created", "order.updated"}
WOOCOMMERCE_EARNING_STATUSES = {"processing", "completed"}


class Rejected(Exception):
    """The delivery is genuine but cannot be applied; it is recorded and answered with 200."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def _json(status: int, **body: Any) -> JsonResponse:
    return JsonResponse(body, status=status)


def _signature_valid(secret: str, body: bytes, signature: str) -> bool:
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, signature.strip())


def _money(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise Rejected("invalid", f"Not an amount: {value!r}.") from exc


def _validated(serializer: serializers.Serializer) -> serializers.Serializer:
    if not serializer.is_valid():
        first = flatten_errors(serializer.errors)[0]
        raise Rejected(first["code"], first["message"], first["field"])
    return serializer


def _record_order(shop: Shop, data: dict[str, Any], source: str) -> str:
    payload = _validated(OrderCreateInputSerializer(data=data))
    result = order_record(shop=shop, order=payload.to_order(), source=source)  # type: ignore[attr-defined]
    return "order recorded" if result.created else "order already recorded"


def _record_refund(shop: Shop, order_id: str, refund_id: str, amount: Decimal, source: str) -> str:
    """Record a refund, clamped to what is left of the order (platforms round differently)."""
    order = Order.objects.filter(shop=shop, external_id=order_id).first()
    if order is None:
        raise OrderNotFound()
    existing = order.refunds.filter(external_id=refund_id).first()
    if existing is None:
        amount = min(amount, order.amount - order.refunded_amount)
    else:
        amount = existing.amount
    if amount <= 0:
        return "nothing left to refund"
    data = _validated(RefundCreateInputSerializer(data={"refund_id": refund_id, "amount": str(amount)})).validated_data
    result = refund_record(shop=shop, order_id=order_id, refund_id=data["refund_id"], amount=data["amount"], source=source)
    return "refund recorded" if result.created else "refund already recorded"


# --- Shopify -------------------------------------------------------------------------------------


def _shopify_order(shop: Shop, payload: dict[str, Any]) -> str:
    customer = payload.get("customer") or {}
    shipping_tax = sum(
        (_money(line.get("price")) for shipping in payload.get("shipping_lines") or [] for line in shipping.get("tax_lines") or []),
        Decimal("0"),
    )
    tax = _money(payload.get("total_tax")) - shipping_tax if payload.get("taxes_included") else Decimal("0")
    data = {
        "order_id": str(payload.get("id", "")),
        "member": {
            "email": payload.get("email") or customer.get("email") or "",
            "phone": customer.get("phone") or "",
            "external_id": str(customer["id"]) if customer.get("id") else "",
            "first_name": customer.get("first_name") or "",
            "last_name": customer.get("last_name") or "",
        },
        # Shopify's subtotal_price is the line items after discounts, without shipping.
        "amount": str(_money(payload.get("subtotal_price"))),
        "tax": str(max(tax, Decimal("0"))),
        "currency": payload.get("currency", ""),
        "occurred_at": payload.get("processed_at") or payload.get("created_at"),
        "items": [
            {
                "sku": item.get("sku") or "",
                "name": (item.get("title") or item.get("name") or "")[:255],
                "category": (item.get("product_type") or "")[:100],
                "quantity": item.get("quantity") or 1,
                "unit_price": str(_money(item.get("price"))),
            }
            for item in payload.get("line_items") or []
        ],
    }
    return _record_order(shop, data, OrderSource.SHOPIFY)


def _shopify_refund(shop: Shop, payload: dict[str, Any]) -> str:
    lines = payload.get("refund_line_items") or []
    if lines:
        amount = sum((_money(line.get("subtotal")) for line in lines), Decimal("0"))
    else:
        # A refund by amount only: the money returned, less any shipping it refunded.
        refunded = sum(
            (
                _money(t.get("amount"))
                for t in payload.get("transactions") or []
                if t.get("kind") == "refund" and t.get("status", "success") == "success"
            ),
            Decimal("0"),
        )
        shipping = sum(
            (-_money(a.get("amount")) for a in payload.get("order_adjustments") or [] if a.get("kind") == "shipping_refund"),
            Decimal("0"),
        )
        amount = refunded - shipping
    return _record_refund(shop, str(payload.get("order_id", "")), f"shopify-{payload.get('id', '')}", amount, OrderSource.SHOPIFY)


SHOPIFY_HANDLERS: dict[str, Handler] = {"orders/paid": _shopify_order, "refunds/create": _shopify_refund}


# --- WooCommerce ---------------------------------------------------------------------------------


def _woocommerce_order(shop: Shop, payload: dict[str, Any]) -> str:
    status = payload.get("status")
    order_id = str(payload.get("id", ""))
    outcomes = []
    if status in WOOCOMMERCE_EARNING_STATUSES:
        outcomes.append(_woocommerce_earn(shop, payload))
    if not Order.objects.filter(shop=shop, external_id=order_id).exists():
        return f"status {status!r} earns nothing"
    for refund in payload.get("refunds") or []:
        outcomes.append(
            _record_refund(shop, order_id, f"woocommerce-{refund.get('id')}", abs(_money(refund.get("total"))), OrderSource.WOOCOMMERCE)
        )
    if status == "refunded":
        order = Order.objects.get(shop=shop, external_id=order_id)
        remaining = order.amount - order.refunded_amount
        outcomes.append(_record_refund(shop, order_id, f"woocommerce-{order_id}-refunded", remaining, OrderSource.WOOCOMMERCE))
    return "; ".join(outcomes)


def _woocommerce_earn(shop: Shop, payload: dict[str, Any]) -> str:
    billing = payload.get("billing") or {}
    shipping_total, shipping_tax = _money(payload.get("shipping_total")), _money(payload.get("shipping_tax"))
    # WooCommerce's total includes shipping and all taxes: take the shipping and its tax out.
    amount = _money(payload.get("total")) - shipping_total - shipping_tax
    tax = _money(payload.get("total_tax")) - shipping_tax
    created = payload.get("date_created_gmt") or payload.get("date_created")
    if created and isinstance(created, str) and payload.get("date_created_gmt") and not created.endswith("Z"):
        created = f"{created}Z"
    data = {
        "order_id": str(payload.get("id", "")),
        "member": {
            "email": billing.get("email") or "",
            "phone": billing.get("phone") or "",
            "external_id": str(payload["customer_id"]) if payload.get("customer_id") else "",
            "first_name": billing.get("first_name") or "",
            "last_name": billing.get("last_name") or "",
        },
        "amount": str(max(amount, Decimal("0"))),
        "tax": str(min(max(tax, Decimal("0")), max(amount, Decimal("0")))),
        "currency": payload.get("currency", ""),
        "occurred_at": created,
        "items": [
            {
                "sku": item.get("sku") or "",
                "name": (item.get("name") or "")[:255],
                "quantity": item.get("quantity") or 1,
                "unit_price": str(max(_money(item.get("price")), Decimal("0"))),
            }
            for item in payload.get("line_items") or []
        ],
    }
    return _record_order(shop, data, OrderSource.WOOCOMMERCE)


# --- Shared flow ---------------------------------------------------------------------------------


def _receive(
    request: HttpRequest,
    *,
    shop_slug: str,
    platform: str,
    secret_of: Callable[[Shop], str],
    signature: str,
    topic: str,
    delivery_id: str,
    handlers: dict[str, Handler],
) -> JsonResponse:
    shop = Shop.objects.filter(slug=shop_slug, is_active=True).first()
    if shop is None:
        return _json(404, code="shop_not_found", message="No active shop has this address.", field=None)
    try:
        body = read_limited_body(request, _content_length(request))
    except PayloadTooLarge as exc:
        return _json(413, code="body_too_large", message=str(exc.detail), field=None)
    if not _signature_valid(secret_of(shop), body, signature):
        return _json(401, code="invalid_signature", message="The webhook signature does not match.", field=None)
    handler = handlers.get(topic)
    if handler is None:
        return _json(200, status="ignored", detail=f"Topic {topic!r} is not used by Klubb.")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _json(400, code="malformed_json", message="The body is not valid JSON.", field=None)
    if not isinstance(payload, dict):
        return _json(400, code="malformed_json", message="The body must be a JSON object.", field=None)
    if not delivery_id:
        delivery_id = hashlib.sha256(body).hexdigest()
    if InboundWebhook.objects.filter(shop=shop, platform=platform, webhook_id=delivery_id).exists():
        return _json(200, status="duplicate", detail="This delivery was received before.")
    try:
        with transaction.atomic():
            log = InboundWebhook.objects.create(
                shop=shop, platform=platform, webhook_id=delivery_id, topic=topic, status=InboundWebhook.Status.PROCESSED
            )
            try:
                with transaction.atomic():
                    detail = handler(shop, payload)
            except (Rejected, LoyaltyError) as exc:
                log.status, log.detail = InboundWebhook.Status.REJECTED, f"{exc.code}: {exc.message}"[:255]
                log.save(update_fields=["status", "detail"])
                return _json(200, status="rejected", code=exc.code, message=exc.message, field=exc.field)
            log.detail = detail[:255]
            log.save(update_fields=["detail"])
    except IntegrityError:
        return _json(200, status="duplicate", detail="This delivery was received before.")
    return _json(200, status="processed", detail=detail)


def _content_length(request: HttpRequest) -> int | None:
    raw = request.META.get("CONTENT_LENGTH")
    return int(raw) if raw and str(raw).isdigit() else None


@csrf_exempt
@require_POST
def shopify(request: HttpRequest, shop_slug: str) -> JsonResponse:
    return _receive(
        request,
        shop_slug=shop_slug,
        platform=OrderSource.SHOPIFY,
        secret_of=lambda shop: shop.shopify_webhook_secret,
        signature=request.headers.get("X-Shopify-Hmac-Sha256", ""),
        topic=request.headers.get("X-Shopify-Topic", ""),
        delivery_id=request.headers.get("X-Shopify-Webhook-Id", ""),
        handlers=SHOPIFY_HANDLERS,
    )


@csrf_exempt
@require_POST
def woocommerce(request: HttpRequest, shop_slug: str) -> JsonResponse:
    topic = request.headers.get("X-WC-Webhook-Topic", "")
    if not topic and not request.headers.get("X-WC-Webhook-Signature"):
        # WooCommerce pings a new webhook with `webhook_id=N` and no topic: acknowledge, write nothing.
        return _json(200, status="ignored", detail="Ping acknowledged.")
    return _receive(
        request,
        shop_slug=shop_slug,
        platform=OrderSource.WOOCOMMERCE,
        secret_of=lambda shop: shop.woocommerce_webhook_secret,
        signature=request.headers.get("X-WC-Webhook-Signature", ""),
        topic=topic,
        delivery_id=request.headers.get("X-WC-Webhook-Delivery-ID", ""),
        handlers={t: _woocommerce_order for t in WOOCOMMERCE_TOPICS},
    )
