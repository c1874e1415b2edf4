"""Returns as data: why goods came back (the club's return reasons, which staff keep) and which goods, checked
against the order and what its earlier refunds returned."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db.models import Sum

from loyalty.errors import ReturnedItemNotInOrder, ReturnExceedsOrdered, UnknownReturnReason
from loyalty.models import Order, RefundLine, ReturnReason
from loyalty.orders.types import CENT, ReturnedItem, returned_quantities

NOTE_LENGTH = 500
LANGUAGES = settings.LANGUAGES


def return_reason_find(*, code: str) -> ReturnReason | None:
    """The active return reason ``code`` names (None for no code); ``UnknownReturnReason`` if there is none."""
    if not code:
        return None
    reason = ReturnReason.objects.filter(code=code, is_active=True).first()
    if reason is None:
        raise UnknownReturnReason(f"{code!r} is not one of the club's return reasons.")
    return reason


def platform_return_reason(text: str) -> tuple[str, str]:
    """A platform's free-text reason (WooCommerce's ``reason``, Shopify's ``note``) as ``(code, note)``.

    Text that is an active reason's code or label in any language ("too_small", "Too small", "For liten") is that
    reason, without a note; any other text is kept as the note, under ``other`` (none if staff removed it). No text
    is no reason."""
    text = " ".join(text.split())[:NOTE_LENGTH]
    if not text:
        return "", ""
    key = text.casefold()
    slug = re.sub(r"[\s-]+", "_", key)
    for reason in ReturnReason.objects.filter(is_active=True):
        labels = {str(getattr(reason, f"label_{language}", None) or "").casefold() for language, _n in LANGUAGES}
        if slug == reason.code or key in labels - {""}:
            return reason.code, ""
    other = ReturnReason.objects.filter(code=ReturnReason.OTHER, is_active=True).exists()
    return (ReturnReason.OTHER if other else ""), text


@dataclass
class _Ordered:
    quantity: int
    value: Decimal  # quantity x unit price, over the order's lines with the SKU
    name: str
    category: str


def _ordered(order: Order) -> dict[str, _Ordered]:
    """The order's goods per SKU (lines without a SKU cannot be named by a return)."""
    ordered: dict[str, _Ordered] = {}
    for line in order.items:
        sku, quantity = line.get("sku") or "", int(line.get("quantity") or 0)
        if not sku:
            continue
        found = ordered.setdefault(sku, _Ordered(0, Decimal("0"), line.get("name") or "", line.get("category") or ""))
        found.quantity += quantity
        found.value += Decimal(str(line.get("unit_price") or "0")) * quantity
    return ordered


def refund_lines(*, order: Order, items: Sequence[ReturnedItem], amount: Decimal, clamp: bool) -> list[RefundLine]:
    """The lines (unsaved, without their refund) a refund of ``amount`` returning ``items`` of ``order`` has.

    Each SKU must be the order's, and at most what it ordered less what its earlier refunds returned (read under
    the order's lock): ``ReturnedItemNotInOrder``, ``ReturnExceedsOrdered``. A platform's refund (``clamp``) is
    recorded whatever its lines say: a SKU the order lacks is left out, a quantity cut to what is left.
    The refund's amount is shared among its lines by their weight (the platform's line money, else the order's
    unit price), so the lines add up to the refund."""
    if not items:
        return []
    ordered = _ordered(order)
    before = dict(
        RefundLine.objects.filter(refund__order=order)
        .values("sku")
        .annotate(n=Sum("quantity"))
        .values_list("sku", "n")
        .order_by()
    )
    lines, weights = [], []
    for sku, quantity in returned_quantities(items).items():
        line = ordered.get(sku)
        if line is None:
            if clamp:
                continue
            raise ReturnedItemNotInOrder(f"Order {order.external_id} has no item with SKU {sku}.")
        left = line.quantity - before.get(sku, 0)
        if quantity > left:
            if not clamp:
                raise ReturnExceedsOrdered(
                    f"Only {max(left, 0)} of {sku} in order {order.external_id} are left to return, not {quantity}."
                )
            quantity = left
        if quantity <= 0:
            continue
        given = [item.weight for item in items if item.sku == sku]
        if all(weight is not None for weight in given):
            weight = sum((weight for weight in given if weight is not None), Decimal("0"))
        else:
            weight = line.value * quantity / line.quantity if line.quantity else Decimal("0")
        lines.append(RefundLine(sku=sku, name=line.name, category=line.category, quantity=quantity))
        weights.append(max(weight, Decimal("0")))
    if not any(weights):  # nothing priced: by quantity
        weights = [Decimal(line.quantity) for line in lines]
    for line, share in zip(lines, apportion(amount, weights), strict=True):
        line.amount = share
    return lines


def apportion(amount: Decimal, weights: Sequence[Decimal]) -> list[Decimal]:
    """``amount`` shared by ``weights`` in whole cents that add up to it exactly (each share rounded on the
    running total, so no cent is lost or made)."""
    total = sum(weights, Decimal("0"))
    if not weights or total <= 0:
        return [Decimal("0.00") for _ in weights]
    shares, running, given = [], Decimal("0"), Decimal("0.00")
    for weight in weights:
        running += weight
        upto = (amount * running / total).quantize(CENT, rounding=ROUND_HALF_UP)
        shares.append(upto - given)
        given = upto
    return shares
