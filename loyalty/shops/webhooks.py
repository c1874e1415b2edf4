"""Native Shopify and WooCommerce webhooks, mapped onto the same services as the REST API.

A delivery is verified (HMAC-SHA256 over the raw body with the shop's secret), deduplicated by the
platform's delivery id, translated into the shop API's order/refund shape, validated by the same
serializers, and recorded. Answers:

* 404 for a shop address that does not exist (so a merchant who mistypes it sees the error when
  the platform tests the address), 401 for a missing or bad signature, 400 for a body that is not
  a JSON object, 413 for one too large: nothing is written.
* 200 for everything else, so the platform does not retry what a retry cannot fix: unknown topics
  are ignored without a trace, statuses that earn nothing are logged as ignored, redeliveries are
  reported as duplicates, and orders our rules refuse are recorded as rejected (visible to staff
  under "Received webhooks").

Orders and refunds are idempotent by their own ids as well (``order_record``/``refund_record``), so
the same order under a new delivery id never earns twice.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any, NoReturn

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from rest_framework import serializers

from loyalty.api.errors import flatten_errors
from loyalty.api.parsers import PayloadTooLarge, read_limited_body
from loyalty.api.serializers import OrderCreateInputSerializer, RefundCreateInputSerializer
from loyalty.errors import LoyaltyError, MemberNotEnrollable
from loyalty.models import InboundWebhook, Order, OrderSource, Shop
from loyalty.orders import order_record, refund_record
from members.phones import normalize_phone

Handler = Callable[[Shop, dict[str, Any]], str]

SHOPIFY_TOPICS = {"orders/paid", "refunds/create"}
WOOCOMMERCE_TOPICS = {"order.created", "order.updated"}
WOOCOMMERCE_EARNING_STATUSES = {"processing", "completed"}
ZERO = Decimal("0")
WEBHOOK_ID_MAX_LENGTH = InboundWebhook._meta.get_field("webhook_id").max_length or 200


class RetryLater(Exception):
    """The delivery cannot be applied yet; answer 409 and write nothing, so the platform retries."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


class Rejected(Exception):
    """The delivery is genuine but cannot be applied; it is recorded and answered with 200."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


class Ignored(Exception):
    """The delivery is genuine but means nothing to the club (an unpaid order); logged as ignored."""


def _json(http_status: int, /, **body: Any) -> JsonResponse:
    # Positional-only: the bodies themselves carry a "status" key.
    return JsonResponse(body, status=http_status)


def _signature_valid(secret: str, body: bytes, signature: str) -> bool:
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    # Compare bytes: compare_digest refuses str with non-ASCII characters, which a header can hold.
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "surrogateescape"))


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _parse_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None. NaN and Infinity are not JSON, though Python accepts them."""
    try:
        payload = json.loads(body, parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None


def _object(value: Any) -> dict[str, Any]:
    """A nested JSON object, or an empty one when the platform sent something else (null, a string)."""
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in a nested list; anything else is skipped."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _text(value: Any, max_length: int) -> str:
    return str(value)[:max_length] if value not in (None, "") else ""


def _money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise Rejected("invalid", f"Not an amount: {value!r}.") from exc
    if not amount.is_finite():
        raise Rejected("invalid", f"Not an amount: {value!r}.")
    return amount


def _phone_or_blank(raw: Any) -> str:
    """A phone the shop sent, if it is a phone number at all.

    Shops take whatever their customers type; a number we cannot read must not cost the member the
    points for the order, and email and customer id identify them anyway.
    """
    if not raw or not isinstance(raw, str):
        return ""
    try:
        return normalize_phone(raw)
    except DjangoValidationError:
        return ""


def _member(*, email: Any, phone: Any, external_id: Any, first_name: Any, last_name: Any) -> dict[str, str]:
    ref = {
        "email": _text(email, 254).strip(),
        "phone": _phone_or_blank(phone),
        "external_id": _text(external_id, 100),
        "first_name": _text(first_name, 150),
        "last_name": _text(last_name, 150),
    }
    if not (ref["email"] or ref["phone"] or ref["external_id"]):
        # A guest checkout without an email address: nobody to credit and nobody to enrol.
        raise MemberNotEnrollable()
    return ref


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
        # Platforms do not promise to deliver in order: the refund may beat its order here.
        raise RetryLater("order_not_yet_received", f"Order {order_id} has not been received yet; retry later.")
    existing = order.refunds.filter(external_id=refund_id).first()
    # A replay keeps the amount first recorded; a new refund takes at most what is left.
    amount = existing.amount if existing is not None else min(amount, order.amount - order.refunded_amount)
    if amount <= 0:
        return "nothing left to refund"
    data = _validated(RefundCreateInputSerializer(data={"refund_id": refund_id, "amount": str(amount)})).validated_data
    result = refund_record(
        shop=shop, order_id=order_id, refund_id=data["refund_id"], amount=data["amount"], source=source
    )
    return "refund recorded" if result.created else "refund already recorded"


# --- Shopify -------------------------------------------------------------------------------------


def _shop_money(value: Any) -> Decimal:
    """The shop-currency amount of a Shopify money bag (``{"shop_money": {"amount": ...}}``)."""
    return _money(_object(_object(value).get("shop_money")).get("amount"))


def _shopify_order(shop: Shop, payload: dict[str, Any]) -> str:
    customer = _object(payload.get("customer"))
    shipping_tax = sum(
        (
            _money(line.get("price"))
            for shipping in _objects(payload.get("shipping_lines"))
            for line in _objects(shipping.get("tax_lines"))
        ),
        ZERO,
    )
    tax = _money(payload.get("total_tax")) - shipping_tax if payload.get("taxes_included") else ZERO
    data = {
        "order_id": str(payload.get("id", "")),
        "member": _member(
            email=payload.get("email") or payload.get("contact_email") or customer.get("email"),
            phone=customer.get("phone"),
            external_id=customer.get("id"),
            first_name=customer.get("first_name"),
            last_name=customer.get("last_name"),
        ),
        # Shopify's subtotal_price is the line items after discounts, without shipping.
        "amount": str(_money(payload.get("subtotal_price"))),
        "tax": str(max(tax, ZERO)),
        "currency": payload.get("currency", ""),
        "occurred_at": payload.get("processed_at") or payload.get("created_at"),
        "items": [
            {
                "sku": _text(item.get("sku"), 100),
                "name": _text(item.get("title") or item.get("name"), 255),
                "category": _text(item.get("product_type"), 100),
                "quantity": item.get("quantity") or 1,
                "unit_price": str(_money(item.get("price"))),
            }
            for item in _objects(payload.get("line_items"))
        ],
    }
    return _record_order(shop, data, OrderSource.SHOPIFY)


def _shopify_refunded_shipping(payload: dict[str, Any]) -> Decimal:
    """Shipping (with its VAT) a Shopify refund returned.

    From API version 2024-10 it is in ``refund_shipping_lines``; before, in ``order_adjustments`` of
    kind ``shipping_refund`` (negative amounts). Shopify has reported the adjustment's amount both
    without and with its tax; adding ``tax_amount`` errs towards taking back too little, never too much.
    """
    lines = _objects(payload.get("refund_shipping_lines"))
    if lines:
        return sum(
            (_shop_money(line.get("subtotal_amount_set")) + _shop_money(line.get("tax_amount_set")) for line in lines),
            ZERO,
        )
    return sum(
        (
            abs(_money(adjustment.get("amount"))) + abs(_money(adjustment.get("tax_amount")))
            for adjustment in _objects(payload.get("order_adjustments"))
            if adjustment.get("kind") == "shipping_refund"
        ),
        ZERO,
    )


def _shopify_refund(shop: Shop, payload: dict[str, Any]) -> str:
    lines = _objects(payload.get("refund_line_items"))
    if lines:
        # Each line's subtotal is its price after discounts, on the same basis as subtotal_price.
        amount = sum((_money(line.get("subtotal")) for line in lines), ZERO)
    else:
        # A refund by amount only: the money returned, less the shipping it refunded.
        refunded = sum(
            (
                _money(t.get("amount"))
                for t in _objects(payload.get("transactions"))
                if t.get("kind") == "refund" and t.get("status", "success") == "success"
            ),
            ZERO,
        )
        amount = refunded - _shopify_refunded_shipping(payload)
    return _record_refund(
        shop, str(payload.get("order_id", "")), f"shopify-{payload.get('id', '')}", amount, OrderSource.SHOPIFY
    )


SHOPIFY_HANDLERS: dict[str, Handler] = {"orders/paid": _shopify_order, "refunds/create": _shopify_refund}


# --- WooCommerce ---------------------------------------------------------------------------------


def _woocommerce_order(shop: Shop, payload: dict[str, Any]) -> str:
    """An order's whole current state: earn once it is paid, then follow its refunds.

    Once the order is recorded, later updates (completed, edited addresses, refunds) do not go
    through ``order_record`` again: the order earned once, and a changed detail is not a conflict.
    """
    status = payload.get("status")
    order_id = str(payload.get("id", ""))
    outcomes = []
    if not Order.objects.filter(shop=shop, external_id=order_id).exists():
        if status not in WOOCOMMERCE_EARNING_STATUSES:
            raise Ignored(f"status {status!r} earns nothing")
        outcomes.append(_woocommerce_earn(shop, payload))
    for refund in _objects(payload.get("refunds")):
        outcomes.append(
            _record_refund(
                shop,
                order_id,
                f"woocommerce-{refund.get('id')}",
                abs(_money(refund.get("total"))),
                OrderSource.WOOCOMMERCE,
            )
        )
    if status == "refunded":
        order = Order.objects.get(shop=shop, external_id=order_id)
        remaining = order.amount - order.refunded_amount
        outcomes.append(
            _record_refund(shop, order_id, f"woocommerce-{order_id}-refunded", remaining, OrderSource.WOOCOMMERCE)
        )
    return "; ".join(outcomes) or "order already recorded"


def _woocommerce_earn(shop: Shop, payload: dict[str, Any]) -> str:
    billing = _object(payload.get("billing"))
    shipping_total, shipping_tax = _money(payload.get("shipping_total")), _money(payload.get("shipping_tax"))
    # WooCommerce's total includes shipping and all taxes: take the shipping and its tax out.
    amount = _money(payload.get("total")) - shipping_total - shipping_tax
    tax = _money(payload.get("total_tax")) - shipping_tax
    created = payload.get("date_created_gmt") or payload.get("date_created")
    if created and isinstance(created, str) and payload.get("date_created_gmt") and not created.endswith("Z"):
        created = f"{created}Z"
    data = {
        "order_id": str(payload.get("id", "")),
        "member": _member(
            email=billing.get("email"),
            phone=billing.get("phone"),
            external_id=payload.get("customer_id") or None,  # 0 is a guest
            first_name=billing.get("first_name"),
            last_name=billing.get("last_name"),
        ),
        "amount": str(max(amount, ZERO)),
        "tax": str(min(max(tax, ZERO), max(amount, ZERO))),
        "currency": payload.get("currency", ""),
        "occurred_at": created,
        "items": [
            {
                "sku": _text(item.get("sku"), 100),
                "name": _text(item.get("name"), 255),
                "quantity": item.get("quantity") or 1,
                "unit_price": str(max(_money(item.get("price")), ZERO)),
            }
            for item in _objects(payload.get("line_items"))
        ],
    }
    return _record_order(shop, data, OrderSource.WOOCOMMERCE)


# --- Shared flow ---------------------------------------------------------------------------------


def _active_shop(slug: str) -> Shop | None:
    return Shop.objects.filter(slug=slug, is_active=True).first()


def _shop_not_found() -> JsonResponse:
    return _json(404, code="shop_not_found", message="No active shop has this address.", field=None)


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
    delivery_id_is_unique: bool = True,
) -> JsonResponse:
    shop = _active_shop(shop_slug)
    if shop is None:
        return _shop_not_found()
    try:
        body = read_limited_body(request, _content_length(request))
    except PayloadTooLarge as exc:
        return _json(413, code="body_too_large", message=str(exc.detail), field=None)
    if not _signature_valid(secret_of(shop), body, signature):
        return _json(401, code="invalid_signature", message="The webhook signature does not match.", field=None)
    handler = handlers.get(topic)
    if handler is None:
        return _json(200, status="ignored", detail=f"Topic {topic!r} is not used by Klubb.")
    payload = _parse_object(body)
    if payload is None:
        return _json(400, code="malformed_json", message="The body is not a JSON object.", field=None)
    key = _delivery_key(delivery_id, body, unique=delivery_id_is_unique)
    if InboundWebhook.objects.filter(shop=shop, platform=platform, webhook_id=key).exists():
        return _json(200, status="duplicate", detail="This delivery was received before.")
    try:
        with transaction.atomic():
            log = InboundWebhook.objects.create(
                shop=shop, platform=platform, webhook_id=key, topic=topic, status=InboundWebhook.Status.PROCESSED
            )
            try:
                with transaction.atomic():
                    detail = handler(shop, payload)
            except Ignored as exc:
                log.status, log.detail = InboundWebhook.Status.IGNORED, str(exc)[:255]
                log.save(update_fields=["status", "detail"])
                return _json(200, status="ignored", detail=str(exc))
            except (Rejected, LoyaltyError) as exc:
                log.status, log.detail = InboundWebhook.Status.REJECTED, f"{exc.code}: {exc.message}"[:255]
                log.save(update_fields=["status", "detail"])
                return _json(200, status="rejected", code=exc.code, message=exc.message, field=exc.field)
            log.detail = detail[:255]
            log.save(update_fields=["detail"])
    except IntegrityError:
        return _json(200, status="duplicate", detail="This delivery was received before.")
    except RetryLater as exc:
        return _json(409, code=exc.code, message=exc.message, field=None)
    return _json(200, status="processed", detail=detail)


def _delivery_key(delivery_id: str, body: bytes, *, unique: bool) -> str:
    """What identifies one delivery: the platform's id, with the body's hash where the id is not unique."""
    digest = hashlib.sha256(body).hexdigest()
    if not delivery_id:
        return digest
    key = delivery_id if unique else f"{delivery_id}:{digest}"
    return key if len(key) <= WEBHOOK_ID_MAX_LENGTH else hashlib.sha256(key.encode()).hexdigest()


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
        # A wrong address fails the ping, so the merchant sees the mistake when saving the webhook.
        if _active_shop(shop_slug) is None:
            return _shop_not_found()
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
        # WooCommerce derives the id from the webhook id and the current second: two events in one
        # second share it. The body tells them apart; a true redelivery repeats both.
        delivery_id_is_unique=False,
    )
