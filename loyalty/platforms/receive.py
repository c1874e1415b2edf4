"""What every platform's webhook shares: verifying, deduplicating and recording a delivery, and reading
a platform's payload into the shop API's order and refund shape (validated by the same serializers)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from rest_framework import serializers

from loyalty.api.errors import flatten_errors
from loyalty.api.parsers import PayloadTooLarge, json_loads_strict, read_limited_body
from loyalty.api.serializers import OrderCreateInputSerializer, RefundCreateInputSerializer
from loyalty.errors import LoyaltyError, MemberNotEnrollable, NothingLeftToRefund, OrderNotFound
from loyalty.models import InboundWebhook, Shop, product_url_valid
from loyalty.orders import RefundDetails, ReturnedItem, order_record, platform_refund_record, platform_return_reason
from members.phones import normalize_phone

Handler = Callable[[Shop, dict[str, Any]], str]

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


def json_answer(http_status: int, /, **body: Any) -> JsonResponse:
    # Positional-only: the bodies themselves carry a "status" key.
    return JsonResponse(body, status=http_status)


def _signature_valid(secret: str, body: bytes, signature: str) -> bool:
    if not secret or not signature:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest())
    # Compare bytes: compare_digest refuses str with non-ASCII characters, which a header can hold.
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "surrogateescape"))


def _parse_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None (``json_loads_strict``: no NaN or Infinity, no overflowing number, no
    nesting deeper than Python can parse)."""
    try:
        payload = json_loads_strict(body)
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def object_(value: Any) -> dict[str, Any]:
    """A nested JSON object, or an empty one when the platform sent something else (null, a string)."""
    return value if isinstance(value, dict) else {}


def objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects in a nested list; anything else is skipped."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def text(value: Any, max_length: int) -> str:
    return str(value)[:max_length] if value not in (None, "") else ""


def product_url(value: Any) -> str:
    """A product's address as an order item's ``url``, or "" when the platform sent none or one the API would
    refuse (not http(s), too long): a bad link must not cost the member the order's points."""
    return value if product_url_valid(value) else ""


def storefront_product_url(page: Any, handle: Any) -> str:
    """``<origin of page>/products/<handle>``: a Shopify product's address, from the order's own storefront page
    (``order_status_url``) and the line item's product handle; "" without either."""
    if not isinstance(page, str) or not isinstance(handle, str) or not handle.strip():
        return ""
    parts = urlsplit(page)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return product_url(f"{parts.scheme}://{parts.netloc}/products/{quote(handle.strip(), safe='')}")


def money(value: Any) -> Decimal:
    try:
        amount = Decimal(str(value if value not in (None, "") else "0")).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise Rejected("invalid", f"Not an amount: {value!r}.") from exc
    if not amount.is_finite():
        raise Rejected("invalid", f"Not an amount: {value!r}.")
    return amount


def _phone_or_blank(raw: Any, region: str) -> str:
    """A phone the shop sent, if it is a phone number at all.

    Shops take whatever their customers type; a number we cannot read must not cost the member the
    points for the order, and email and customer id identify them anyway.
    """
    if not raw or not isinstance(raw, str):
        return ""
    try:
        return normalize_phone(raw, region=region)
    except DjangoValidationError:
        return ""


def member(*, email: Any, phone: Any, external_id: Any, first_name: Any, last_name: Any, region: str) -> dict[str, str]:
    """The member an order names; a phone without a country code is a number of ``region`` (the shop's country)."""
    ref = {
        "email": text(email, 254).strip(),
        "phone": _phone_or_blank(phone, region),
        "external_id": text(external_id, 100),
        "first_name": text(first_name, 150),
        "last_name": text(last_name, 150),
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


def record_order(shop: Shop, data: dict[str, Any], source: str) -> str:
    payload = _validated(OrderCreateInputSerializer(data=data, context={"region": shop.country}))
    result = order_record(shop=shop, order=payload.to_order(), source=source)  # type: ignore[attr-defined]
    return "order recorded" if result.created else "order already recorded"


def record_refund(
    shop: Shop,
    order_id: str,
    refund_id: str,
    amount: Decimal | None,
    source: str,
    *,
    occurred_at: Any = None,
    reason: Any = "",
    items: Sequence[ReturnedItem] = (),
) -> str:
    """Record a platform's refund of ``amount`` (None: all that is left of the order), clamped to what is left
    under the order's lock (``platform_refund_record``). ``occurred_at`` is the platform's date for it (None: now),
    held to the API's rules; ``reason`` its free text (``platform_return_reason``); ``items`` the goods returned, as
    far as they match the order."""
    if amount is not None and amount <= 0:
        return "nothing left to refund"
    data = {"refund_id": refund_id, "amount": str(amount if amount is not None else "0.01"), "occurred_at": occurred_at}
    valid = _validated(RefundCreateInputSerializer(data=data)).validated_data  # the id's and the date's rules
    code, note = platform_return_reason(reason if isinstance(reason, str) else "")
    details = RefundDetails(occurred_at=valid["occurred_at"], reason=code, note=note, items=tuple(items))
    try:
        result = platform_refund_record(
            shop=shop, order_id=order_id, refund_id=valid["refund_id"], amount=amount, source=source, details=details
        )
    except OrderNotFound as exc:
        # Platforms do not promise to deliver in order: the refund may beat its order here.
        raise RetryLater("order_not_yet_received", f"Order {order_id} has not been received yet; retry later.") from exc
    except NothingLeftToRefund:
        return "nothing left to refund"
    return "refund recorded" if result.created else "refund already recorded"


def active_shop(slug: str) -> Shop | None:
    return Shop.objects.filter(slug=slug, is_active=True).first()


def shop_not_found() -> JsonResponse:
    return json_answer(404, code="shop_not_found", message="No active shop has this address.", field=None)


def receive(
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
    shop = active_shop(shop_slug)
    if shop is None:
        return shop_not_found()
    try:
        body = read_limited_body(request, _content_length(request))
    except PayloadTooLarge as exc:
        return json_answer(413, code="body_too_large", message=str(exc.detail), field=None)
    if not _signature_valid(secret_of(shop), body, signature):
        return json_answer(401, code="invalid_signature", message="The webhook signature does not match.", field=None)
    handler = handlers.get(topic)
    if handler is None:
        return json_answer(200, status="ignored", detail=f"Topic {topic!r} is not used by Klubb.")
    payload = _parse_object(body)
    if payload is None:
        return json_answer(400, code="malformed_json", message="The body is not a JSON object.", field=None)
    key = _delivery_key(delivery_id, body, unique=delivery_id_is_unique)
    if InboundWebhook.objects.filter(shop=shop, platform=platform, webhook_id=key).exists():
        return json_answer(200, status="duplicate", detail="This delivery was received before.")
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
                return json_answer(200, status="ignored", detail=str(exc))
            except (Rejected, LoyaltyError) as exc:
                log.status, log.detail = InboundWebhook.Status.REJECTED, f"{exc.code}: {exc.message}"[:255]
                log.save(update_fields=["status", "detail"])
                return json_answer(200, status="rejected", code=exc.code, message=exc.message, field=exc.field)
            log.detail = detail[:255]
            log.save(update_fields=["detail"])
    except IntegrityError:
        return json_answer(200, status="duplicate", detail="This delivery was received before.")
    except RetryLater as exc:
        return json_answer(409, code=exc.code, message=exc.message, field=None)
    return json_answer(200, status="processed", detail=detail)


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
