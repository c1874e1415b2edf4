"""Shopify's webhooks: ``orders/paid`` earns, ``refunds/create`` claws back (``X-Shopify-*`` headers)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from loyalty.models import OrderSource, Shop
from loyalty.platforms.receive import (
    ZERO,
    Handler,
    member,
    money,
    object_,
    objects,
    receive,
    record_order,
    record_refund,
    text,
)

SHOPIFY_TOPICS = {"orders/paid", "refunds/create"}


def _shop_money(value: Any) -> Decimal:
    """The shop-currency amount of a Shopify money bag (``{"shop_money": {"amount": ...}}``)."""
    return money(object_(object_(value).get("shop_money")).get("amount"))


def _shopify_order(shop: Shop, payload: dict[str, Any]) -> str:
    customer = object_(payload.get("customer"))
    shipping_tax = sum(
        (
            money(line.get("price"))
            for shipping in objects(payload.get("shipping_lines"))
            for line in objects(shipping.get("tax_lines"))
        ),
        ZERO,
    )
    tax = money(payload.get("total_tax")) - shipping_tax if payload.get("taxes_included") else ZERO
    data = {
        "order_id": str(payload.get("id", "")),
        "member": member(
            email=payload.get("email") or payload.get("contact_email") or customer.get("email"),
            phone=customer.get("phone"),
            external_id=customer.get("id"),
            first_name=customer.get("first_name"),
            last_name=customer.get("last_name"),
        ),
        # Shopify's subtotal_price is the line items after discounts, without shipping.
        "amount": str(money(payload.get("subtotal_price"))),
        "tax": str(max(tax, ZERO)),
        "currency": payload.get("currency", ""),
        "occurred_at": payload.get("processed_at") or payload.get("created_at"),
        "items": [
            {
                "sku": text(item.get("sku"), 100),
                "name": text(item.get("title") or item.get("name"), 255),
                "category": text(item.get("product_type"), 100),
                "quantity": item.get("quantity") or 1,
                "unit_price": str(money(item.get("price"))),
            }
            for item in objects(payload.get("line_items"))
        ],
    }
    return record_order(shop, data, OrderSource.SHOPIFY)


def _shopify_refunded_shipping(payload: dict[str, Any]) -> Decimal:
    """Shipping (with its VAT) a Shopify refund returned.

    From API version 2024-10 it is in ``refund_shipping_lines``; before, in ``order_adjustments`` of
    kind ``shipping_refund`` (negative amounts). Shopify has reported the adjustment's amount both
    without and with its tax; adding ``tax_amount`` errs towards taking back too little, never too much.
    """
    lines = objects(payload.get("refund_shipping_lines"))
    if lines:
        return sum(
            (_shop_money(line.get("subtotal_amount_set")) + _shop_money(line.get("tax_amount_set")) for line in lines),
            ZERO,
        )
    return sum(
        (
            abs(money(adjustment.get("amount"))) + abs(money(adjustment.get("tax_amount")))
            for adjustment in objects(payload.get("order_adjustments"))
            if adjustment.get("kind") == "shipping_refund"
        ),
        ZERO,
    )


def _shopify_refund(shop: Shop, payload: dict[str, Any]) -> str:
    lines = objects(payload.get("refund_line_items"))
    if lines:
        # Each line's subtotal is its price after discounts, on the same basis as subtotal_price.
        amount = sum((money(line.get("subtotal")) for line in lines), ZERO)
    else:
        # A refund by amount only: the money returned, less the shipping it refunded.
        refunded = sum(
            (
                money(t.get("amount"))
                for t in objects(payload.get("transactions"))
                if t.get("kind") == "refund" and t.get("status", "success") == "success"
            ),
            ZERO,
        )
        amount = refunded - _shopify_refunded_shipping(payload)
    return record_refund(
        shop, str(payload.get("order_id", "")), f"shopify-{payload.get('id', '')}", amount, OrderSource.SHOPIFY
    )


SHOPIFY_HANDLERS: dict[str, Handler] = {"orders/paid": _shopify_order, "refunds/create": _shopify_refund}


@csrf_exempt
@require_POST
def shopify_webhook(request: HttpRequest, shop_slug: str) -> JsonResponse:
    return receive(
        request,
        shop_slug=shop_slug,
        platform=OrderSource.SHOPIFY,
        secret_of=lambda shop: shop.shopify_webhook_secret,
        signature=request.headers.get("X-Shopify-Hmac-Sha256", ""),
        topic=request.headers.get("X-Shopify-Topic", ""),
        delivery_id=request.headers.get("X-Shopify-Webhook-Id", ""),
        handlers=SHOPIFY_HANDLERS,
    )
