"""Shopify's webhooks (``X-Shopify-*`` headers): ``orders/paid`` earns, unless the order is a test, cancelled or
not paid; ``refunds/create`` takes back a refund's share; ``orders/cancelled`` takes back what is left.

Amounts are read in the shop's currency (``*_set.shop_money``), whatever currency the buyer paid in."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from loyalty.models import OrderSource, Shop
from loyalty.orders import ReturnedItem
from loyalty.platforms.receive import (
    ZERO,
    Handler,
    Ignored,
    RetryLater,
    member,
    money,
    object_,
    objects,
    receive,
    record_order,
    record_refund,
    storefront_product_url,
    text,
)
from loyalty.selectors import shop_order_exists

SHOPIFY_TOPICS = {"orders/paid", "orders/cancelled", "refunds/create"}
# An orders/paid delivery in these states earns nothing: "send test notification" sends a voided order.
NOT_PAID = {"voided", "pending"}
# How long after an order its orders/paid may still arrive after its orders/cancelled (deliveries are retried for
# 48 hours): a cancellation of a paid order this recent that Klubb has not counted waits for it.
PAID_MAY_FOLLOW = dt.timedelta(hours=48)


def _shop_money(value: Any) -> Decimal:
    """The shop-currency amount of a Shopify money bag (``{"shop_money": {"amount": ...}}``)."""
    return money(object_(object_(value).get("shop_money")).get("amount"))


def _amount(part: dict[str, Any], key: str) -> Decimal:
    """``part[key]`` in the shop's currency: from ``<key>_set.shop_money`` where Shopify sends it (a
    multi-currency order's plain fields may be in the buyer's currency), else the plain field."""
    bag = object_(part.get(f"{key}_set"))
    return _shop_money(bag) if bag.get("shop_money") else money(part.get(key))


def _quantity(line: dict[str, Any]) -> int:
    quantity = line.get("quantity")
    return quantity if isinstance(quantity, int) and quantity > 0 else 1


def _earning_lines(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The order's line items that earn: gift cards are money, not goods, and never earn."""
    return [line for line in objects(payload.get("line_items")) if line.get("gift_card") is not True]


def _line_amount(line: dict[str, Any]) -> Decimal:
    """What a line qualifies for: its price times its quantity, less the discounts allocated to it. The same
    basis as a refund line's subtotal, so refunding every line takes back every point."""
    discounts = sum((_amount(d, "amount") for d in objects(line.get("discount_allocations"))), ZERO)
    return _amount(line, "price") * _quantity(line) - discounts


def _is_uncounted_test(shop: Shop, payload: dict[str, Any]) -> bool:
    return payload.get("test") is True and not shop.count_test_orders


def _why_not_earning(shop: Shop, payload: dict[str, Any]) -> str | None:
    if _is_uncounted_test(shop, payload):
        return "a test order earns nothing"
    if payload.get("cancelled_at"):
        return "a cancelled order earns nothing"
    if payload.get("financial_status") in NOT_PAID:
        return f"financial status {payload.get('financial_status')!r} earns nothing"
    return None


def _shopify_order(shop: Shop, payload: dict[str, Any]) -> str:
    if (why := _why_not_earning(shop, payload)) is not None:
        raise Ignored(why)
    customer = object_(payload.get("customer"))
    lines = _earning_lines(payload)
    # Goods after discounts, without gift cards, shipping, tips and duties (none of them is a line item).
    amount = sum((_line_amount(line) for line in lines), ZERO)
    tax = ZERO
    if payload.get("taxes_included"):  # else the prices hold no tax to take out
        tax = sum((_amount(t, "price") for line in lines for t in objects(line.get("tax_lines"))), ZERO)
    data = {
        "order_id": str(payload.get("id", "")),
        "member": member(
            email=payload.get("email") or payload.get("contact_email") or customer.get("email"),
            phone=customer.get("phone"),
            external_id=customer.get("id"),
            first_name=customer.get("first_name"),
            last_name=customer.get("last_name"),
            region=shop.country,
        ),
        "amount": str(max(amount, ZERO)),
        "tax": str(min(max(tax, ZERO), max(amount, ZERO))),
        "currency": payload.get("currency", ""),  # the shop's currency, which the _set amounts are in
        "occurred_at": payload.get("processed_at") or payload.get("created_at"),
        "items": [
            {
                "sku": text(item.get("sku"), 100),
                "name": text(item.get("title") or item.get("name"), 255),
                "category": text(item.get("product_type"), 100),
                "quantity": _quantity(item),
                "unit_price": str(max(_amount(item, "price"), ZERO)),
                # The product's page, for a replenishment reminder's link: the storefront's origin and its handle.
                "url": storefront_product_url(payload.get("order_status_url"), item.get("handle")),
            }
            for item in lines
        ],
        # Shopify sends a customer's tags as one comma-separated string; the programme may exclude some.
        "customer_tags": [text(tag.strip(), 100) for tag in str(customer.get("tags") or "").split(",") if tag.strip()],
        # A Klubb checkout code among them captures its redemption; a reward voucher's is marked used.
        "discount_codes": [
            text(code["code"], 100) for code in objects(payload.get("discount_codes")) if code.get("code")
        ],
    }
    return record_order(shop, data, OrderSource.SHOPIFY)


def _shopify_cancel(shop: Shop, payload: dict[str, Any]) -> str:
    """A cancelled order takes back what it earned (what its refunds have not taken back already).

    Shopify does not promise to deliver in order: a recent paid order's cancellation may beat its
    ``orders/paid``. That one is answered 409 (``order_not_yet_received``), so Shopify delivers it again once the
    order has earned, and the points are taken back then; an unpaid, test or older order never earned."""
    order_id = str(payload.get("id", ""))
    if not shop_order_exists(shop=shop, order_id=order_id):
        placed = parse_datetime(str(payload.get("processed_at") or payload.get("created_at") or ""))
        recent = placed is not None and timezone.now() - placed < PAID_MAY_FOLLOW
        if recent and payload.get("financial_status") not in NOT_PAID and not _is_uncounted_test(shop, payload):
            raise RetryLater("order_not_yet_received", f"Order {order_id} has not been received yet; retry later.")
        raise Ignored("the order was never counted")
    cancelled_at = payload.get("cancelled_at")
    return record_refund(
        shop, order_id, f"shopify-{order_id}-cancelled", None, OrderSource.SHOPIFY, occurred_at=cancelled_at
    )


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
    """A refund's share of the points, with its date (``processed_at``), its note (a return reason, when it names
    one) and the goods it returned (each line's subtotal shares out the amount)."""
    lines = objects(payload.get("refund_line_items"))
    earning = [line for line in lines if object_(line.get("line_item")).get("gift_card") is not True]
    if lines:
        # Each line's subtotal is its price after its discounts: the basis its order's lines earned on.
        amount = sum((_amount(line, "subtotal") for line in earning), ZERO)
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
    returned = [
        ReturnedItem(sku=sku, quantity=_quantity(line), weight=max(_amount(line, "subtotal"), ZERO))
        for line in earning
        if (sku := text(object_(line.get("line_item")).get("sku"), 100))
    ]
    return record_refund(
        shop,
        str(payload.get("order_id", "")),
        f"shopify-{payload.get('id', '')}",
        amount,
        OrderSource.SHOPIFY,
        occurred_at=payload.get("processed_at") or payload.get("created_at"),
        reason=payload.get("note") or "",
        items=returned,
    )


SHOPIFY_HANDLERS: dict[str, Handler] = {
    "orders/paid": _shopify_order,
    "orders/cancelled": _shopify_cancel,
    "refunds/create": _shopify_refund,
}


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
