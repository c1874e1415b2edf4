"""WooCommerce's webhooks: ``order.created``/``order.updated`` carry the order's whole state; it earns once
paid, then follows its refunds, and a full refund or a cancellation takes back the rest (``X-WC-Webhook-*``
headers)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from loyalty.models import OrderSource, Shop
from loyalty.platforms.receive import (
    ZERO,
    Ignored,
    active_shop,
    json_answer,
    member,
    money,
    object_,
    objects,
    product_url,
    receive,
    record_order,
    record_refund,
    shop_not_found,
    text,
)
from loyalty.selectors import shop_order_exists

WOOCOMMERCE_TOPICS = {"order.created", "order.updated"}
# Paid. Every other status (pending, on-hold, failed, cancelled, ...) earns nothing.
WOOCOMMERCE_EARNING_STATUSES = {"processing", "completed"}
WOOCOMMERCE_TAKEN_BACK_STATUSES = {"refunded", "cancelled"}


def _woocommerce_order(shop: Shop, payload: dict[str, Any]) -> str:
    """An order's whole current state: earn once it is paid, then follow its refunds.

    Once the order is recorded, later updates (completed, edited addresses, refunds) do not go
    through ``order_record`` again: the order earned once, and a changed detail is not a conflict.
    """
    status = payload.get("status")
    order_id = str(payload.get("id", ""))
    outcomes = []
    if not shop_order_exists(shop=shop, order_id=order_id):
        if status not in WOOCOMMERCE_EARNING_STATUSES:
            raise Ignored(f"status {status!r} earns nothing")
        outcomes.append(_woocommerce_earn(shop, payload))
    # An order's refunds list has each refund's id, total and reason (its free text), and its date where the shop's
    # payload carries one (else the refund happened now, as far as Klubb can tell).
    for refund in objects(payload.get("refunds")):
        outcomes.append(
            record_refund(
                shop,
                order_id,
                f"woocommerce-{refund.get('id')}",
                abs(money(refund.get("total"))),
                OrderSource.WOOCOMMERCE,
                occurred_at=_woocommerce_date(refund),
                reason=refund.get("reason") or "",
            )
        )
    if status in WOOCOMMERCE_TAKEN_BACK_STATUSES:  # refunded in full, or cancelled after it was paid
        outcomes.append(  # all that is left of the order
            record_refund(shop, order_id, f"woocommerce-{order_id}-{status}", None, OrderSource.WOOCOMMERCE)
        )
    return "; ".join(outcomes) or "order already recorded"


def _woocommerce_earn(shop: Shop, payload: dict[str, Any]) -> str:
    billing = object_(payload.get("billing"))
    shipping_total, shipping_tax = money(payload.get("shipping_total")), money(payload.get("shipping_tax"))
    total, total_tax = money(payload.get("total")), money(payload.get("total_tax"))
    # WooCommerce's total includes shipping and all taxes. Where the shop's prices include VAT, the goods
    # qualify with theirs (only shipping's is taken out); where they exclude it, no tax is counted at all.
    if payload.get("prices_include_tax") is False:
        amount, tax = total - shipping_total - total_tax, ZERO
    else:
        amount, tax = total - shipping_total - shipping_tax, total_tax - shipping_tax
    created = _woocommerce_date(payload)
    data = {
        "order_id": str(payload.get("id", "")),
        "member": member(
            email=billing.get("email"),
            phone=billing.get("phone"),
            external_id=payload.get("customer_id") or None,  # 0 is a guest
            first_name=billing.get("first_name"),
            last_name=billing.get("last_name"),
            region=shop.country,
        ),
        "amount": str(max(amount, ZERO)),
        "tax": str(min(max(tax, ZERO), max(amount, ZERO))),
        "currency": payload.get("currency", ""),
        "occurred_at": created,
        "items": [
            {
                "sku": text(item.get("sku"), 100),
                "name": text(item.get("name"), 255),
                "quantity": item.get("quantity") or 1,
                "unit_price": str(max(money(item.get("price")), ZERO)),
                "url": product_url(item.get("permalink")),  # for a replenishment reminder's link
            }
            for item in objects(payload.get("line_items"))
        ],
        "customer_tags": _woocommerce_roles(payload),
        # A Klubb checkout code among the coupons captures its redemption; a reward voucher's is marked used.
        "discount_codes": [
            text(coupon["code"], 100) for coupon in objects(payload.get("coupon_lines")) if coupon.get("code")
        ],
    }
    return record_order(shop, data, OrderSource.WOOCOMMERCE)


def _woocommerce_date(data: dict[str, Any]) -> Any:
    """When an order or a refund was created: ``date_created_gmt`` (UTC, without a zone), else ``date_created``
    (the shop's local time, read in the club's zone: the API would refuse a time without one); None if neither."""
    created = data.get("date_created_gmt") or data.get("date_created")
    if created and isinstance(created, str) and data.get("date_created_gmt") and not created.endswith("Z"):
        return f"{created}Z"
    if created and isinstance(created, str) and (local := parse_datetime(created)) and local.tzinfo is None:
        return timezone.make_aware(local).isoformat()
    return created


def _woocommerce_roles(payload: dict[str, Any]) -> list[str]:
    """The customer's WooCommerce role(s). An order does not carry them by itself: the shop adds them as the order
    meta ``customer_role`` (README: a snippet), or a plugin as a top-level ``customer_role``."""
    found = [payload.get("customer_role")]
    found += [meta.get("value") for meta in objects(payload.get("meta_data")) if meta.get("key") == "customer_role"]
    roles = []
    for value in found:
        values = value if isinstance(value, list) else str(value or "").split(",")
        roles += [text(str(role).strip(), 100) for role in values if str(role).strip()]
    return roles


@csrf_exempt
@require_POST
def woocommerce_webhook(request: HttpRequest, shop_slug: str) -> JsonResponse:
    topic = request.headers.get("X-WC-Webhook-Topic", "")
    if not topic and not request.headers.get("X-WC-Webhook-Signature"):
        # WooCommerce pings a new webhook with `webhook_id=N` and no topic: acknowledge, write nothing.
        # A wrong address fails the ping, so the merchant sees the mistake when saving the webhook.
        if active_shop(shop_slug) is None:
            return shop_not_found()
        return json_answer(200, status="ignored", detail="Ping acknowledged.")
    return receive(
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
