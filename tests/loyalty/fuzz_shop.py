"""The shop the API fuzzer's schema-valid requests are aimed at (tests/loyalty/test_api_fuzz.py).

The schema's examples describe one shop's world: the member kari@example.com with the documented member id,
order 10045, the voucher K7QH3MZP9A, the checkout redemption checkout-7f3a, the event type product_review.
``seed`` makes it, the order large enough for every refund of a long run to draw on.

``fit`` is a Schemathesis ``map_case`` hook for what a schema cannot say because it depends on the server's state
or on other fields. It aims three in four schema-valid cases at the seeded world: path parameters name seeded
resources; idempotency keys and a new member's email and phone are made unique per distinct request (the same
request again stays a replay); the currency is the shop's, a time lies between 2000 and now, an amount is within
the programme's limit, VAT within the amount and a refund within what is left, with a reason from the club's list
and no goods; a member named by nothing the shop can enrol is kari. The fourth case is sent as generated, so
that refusals of valid data (404, 409, 422) are still met. Schemathesis applies it to the coverage and fuzzing
phases; negative cases are never changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from loyalty.api.events import EVENT_EXAMPLE
from loyalty.api.orders import ORDER_EXAMPLE
from loyalty.api.redemptions import RESERVED_EXAMPLE
from loyalty.api.rewards import VOUCHER_EXAMPLE
from loyalty.models import ActionKind, PointsAction, Programme, Reward, Shop, Voucher
from loyalty.rewards import redemption_reserve
from loyalty.rewards.catalogue import reward_redeem
from members.models import Member
from tests.conftest import make_order

SHOP_CURRENCY = ORDER_EXAMPLE["currency"]
MEMBER_EMAIL = ORDER_EXAMPLE["member"]["email"]
MEMBER_ID = VOUCHER_EXAMPLE["member_id"]
ORDER_ID = ORDER_EXAMPLE["order_id"]
ORDER_AMOUNT = "100000.00"
PATH_VALUES = {
    "order_id": ORDER_ID,
    "member_id": MEMBER_ID,
    "redemption_id": RESERVED_EXAMPLE["redemption_id"],
    "code": VOUCHER_EXAMPLE["code"],
}
# The idempotency key of each operation that creates something.
KEYS = {
    "POST /api/v1/orders/": "order_id",
    "POST /api/v1/orders/{order_id}/refunds/": "refund_id",
    "POST /api/v1/redemptions/": "redemption_id",
    "POST /api/v1/events/": "idempotency_key",
}
REFUNDS = "POST /api/v1/orders/{order_id}/refunds/"
RETURN_REASON = "too_small"  # seeded by migration 0037
ENROLMENT = "POST /api/v1/members/"
EVENTS = "POST /api/v1/events/"

SENT_AS_GENERATED = 4  # one schema-valid case in this many
MAX_ORDER_AMOUNT = Programme._meta.get_field("max_order_amount").default
LARGEST_REFUND = Decimal("10")
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
A_PAST_TIME = "2025-11-20T14:03:00+01:00"
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def seed(*, shop: Shop) -> None:
    """The shop's world as the schema's examples describe it."""
    assert shop.currency == SHOP_CURRENCY, "the examples' shop reports orders in NOK"
    make_order(shop, order_id=ORDER_ID, amount=ORDER_AMOUNT, email=MEMBER_EMAIL, first_name="Kari")
    Member.objects.filter(user__email=MEMBER_EMAIL).update(public_id=MEMBER_ID)
    member = Member.objects.get(public_id=MEMBER_ID)
    voucher = reward_redeem(member=member, reward=Reward.objects.create(name="Mug", points_cost=100))
    Voucher.objects.filter(pk=voucher.pk).update(code=VOUCHER_EXAMPLE["code"])
    redemption_reserve(
        shop=shop, redemption_id=RESERVED_EXAMPLE["redemption_id"], member=member, points=RESERVED_EXAMPLE["points"]
    )
    PointsAction.objects.create(
        name="Product review", kind=ActionKind.EVENT, event_type=EVENT_EXAMPLE["type"], points=50
    )


def fit(context: Any, case: Any) -> Any:
    """Schemathesis' ``map_case`` hook (see the module's docstring)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    digest = _digest(case)
    if int(digest[-2:], 16) % SENT_AS_GENERATED == 0:
        return case
    parameters = case.path_parameters or {}
    for name in parameters:
        parameters[name] = PATH_VALUES.get(name, parameters[name])
    if isinstance(case.body, dict):
        _fit_body(case.operation.label, case.body, digest)
    return case


def _fit_body(operation: str, body: dict[str, Any], digest: str) -> None:
    key = KEYS.get(operation)
    if key is not None and isinstance(body.get(key), str):
        body[key] = _unique(body[key], digest)
    if isinstance(body.get("currency"), str) and body["currency"].upper() != SHOP_CURRENCY:
        body["currency"] = SHOP_CURRENCY
    if isinstance(body.get("occurred_at"), str) and not _in_the_past(body["occurred_at"]):
        body["occurred_at"] = A_PAST_TIME
    amount = _money(body.get("amount"))
    limit = LARGEST_REFUND if operation == REFUNDS else MAX_ORDER_AMOUNT
    if amount is not None and amount > limit:
        amount = max(amount % limit, Decimal("0.01"))
        body["amount"] = f"{amount:.2f}"
    tax = _money(body.get("tax"))
    if tax is not None and amount is not None and tax > amount:
        body["tax"] = body["amount"]
    if isinstance(body.get("member"), dict):
        _fit_member(body["member"], digest)
    if operation == ENROLMENT:
        _fit_enrolment(body, digest)
    if operation == EVENTS and "type" in body:
        body["type"] = EVENT_EXAMPLE["type"]
    if operation == REFUNDS:
        _fit_return(body)


def _fit_return(body: dict[str, Any]) -> None:
    """A return reason from the club's list; no goods (which must be the order's and left to return)."""
    if body.get("reason"):
        body["reason"] = RETURN_REASON
    if body.get("items"):
        body["items"] = []


def _fit_member(member: dict[str, Any], digest: str) -> None:
    if member.get("phone"):
        member["phone"] = _unique_phone(digest)
    if not member.get("email") and not member.get("phone"):
        member["email"] = MEMBER_EMAIL


def _fit_enrolment(body: dict[str, Any], digest: str) -> None:
    if isinstance(body.get("email"), str):
        body["email"] = _unique_email(body["email"], digest)
    if body.get("phone"):
        body["phone"] = _unique_phone(digest)
    if body.get("referral_code"):
        body["referral_code"] = ""  # nobody's code: 422 referral_code_unknown


def _digest(case: Any) -> str:
    sent = [case.path_parameters, case.query, case.body if isinstance(case.body, (dict, list)) else None]
    text = json.dumps(sent, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _unique(key: str, digest: str, max_length: int = 100) -> str:
    suffix = f"-{digest[:10]}"
    return key[: max_length - len(suffix)] + suffix


def _unique_email(email: str, digest: str) -> str:
    local, _at, domain = email.rpartition("@")
    local = f"{local}.{digest[:8]}"
    if not DOT_ATOM.fullmatch(local) or len(local) > 64:
        local = f"m{digest[:12]}"
    return f"{local}@{domain}" if len(local) + 1 + len(domain) <= 254 else email


def _unique_phone(digest: str) -> str:
    """A Norwegian mobile number (9 and seven digits) that no other request of the run is likely to use."""
    return f"+479{int(digest[10:18], 16) % 10_000_000:07d}"


def _in_the_past(value: str) -> bool:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return True  # not for this hook to judge: RFC 3339 is wider than fromisoformat
    return moment.tzinfo is not None and EARLIEST <= moment <= dt.datetime.now(dt.UTC)


def _money(value: Any) -> Decimal | None:
    try:
        return Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        return None
