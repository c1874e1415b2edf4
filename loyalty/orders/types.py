"""What an order or a refund is when a shop reports it, and what recording it gave."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

from loyalty.campaigns import ItemLine
from loyalty.models import Order, Refund
from loyalty.shops.customers import MemberRef

CENT = Decimal("0.01")


@dataclass(frozen=True)
class OrderItem:
    sku: str = ""
    name: str = ""
    category: str = ""
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    gift_card: bool = False  # money, not goods: never earns
    url: str = ""  # the product's page at the shop, for a replenishment reminder's link

    def as_json(self, *, unit_price: str | None = None) -> dict[str, Any]:
        """The item as stored on the order (``dataclasses.asdict`` is a deep copy, slow in bulk imports).
        ``gift_card`` and ``url`` only where set, so orders recorded before them keep their fingerprints."""
        price = str(self.unit_price) if unit_price is None else unit_price
        data = {"sku": self.sku, "name": self.name, "category": self.category, "quantity": self.quantity,
                "unit_price": price}  # fmt: skip
        if self.gift_card:
            data["gift_card"] = True
        if self.url:
            data["url"] = self.url
        return data

    def as_line(self) -> ItemLine:
        """What the earning rules look at."""
        return ItemLine(sku=self.sku, category=self.category, quantity=self.quantity, unit_price=self.unit_price,
                        gift_card=self.gift_card)  # fmt: skip


@dataclass(frozen=True)
class OrderInput:
    """An order as a shop reports it. ``amount`` is the qualifying amount: goods after discounts,
    without shipping, in the shop's currency; ``tax`` is the VAT included in it, where known."""

    order_id: str
    member: MemberRef
    amount: Decimal
    currency: str
    occurred_at: dt.datetime
    items: Sequence[OrderItem] = field(default_factory=tuple)
    tax: Decimal = Decimal("0")
    # Not stored: only a fingerprint of it, to spot a referrer's own address on a referred friend's order.
    shipping_address: str = ""
    # The discount codes the customer used: Klubb's checkout codes among them capture their redemption, and
    # catalogue vouchers are marked used. Not part of the fingerprint: platforms always sent them, and an order
    # recorded before they counted must still replay; a replay applies no code again.
    discount_codes: tuple[str, ...] = ()
    # The customer's tags at the shop (Shopify customer tags, a WooCommerce role): some may exclude it from
    # earning. Not part of the fingerprint either, for the same reason.
    customer_tags: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """A hash of what the order means, to tell a replay from a conflicting reuse of its id."""
        return self._fingerprint

    @cached_property
    def _fingerprint(self) -> str:
        # Computed once and kept with the order: an import compares it with the recorded orders' twice (before and
        # under the batch's locks) and stores it.
        canonical = {
            "order_id": self.order_id,
            "member": self.member.identity(),
            "amount": str(self.amount.quantize(CENT)),
            "tax": str(self.tax.quantize(CENT)),
            "currency": self.currency,
            "occurred_at": self.occurred_at.astimezone(dt.UTC).isoformat(),
            "items": [item.as_json(unit_price=str(Decimal(item.unit_price).quantize(CENT))) for item in self.items],
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class OrderOutcome:
    """What recording an order gave; stored on the order, so a replay returns the same."""

    order_id: str
    member_id: str
    points_awarded: int
    balance: int
    tier: str | None
    points_pending: int = 0  # of points_awarded, not spendable until available_at (the return window)
    available_at: str | None = None
    no_points_reason: str | None = None  # why an order earned nothing on purpose: "customer_tag_excluded"

    def as_data(self) -> dict[str, Any]:
        # Every field is a plain value: a shallow dict is ``asdict``'s result without its deep copy (an import
        # stores one per order).
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class OrderResult:
    order: Order
    created: bool
    outcome: OrderOutcome


@dataclass(frozen=True)
class RefundOutcome:
    """What recording a refund gave; stored on the refund, so a replay returns the same."""

    refund_id: str
    order_id: str
    member_id: str
    points_clawed_back: int
    balance: int
    points_returned: int = 0  # of points the order's checkout spent, given back

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RefundResult:
    refund: Refund
    created: bool
    outcome: RefundOutcome


@dataclass(frozen=True)
class ReturnedItem:
    """Goods a refund returned: a SKU of its order and how many. ``weight``: the platform's money for the line
    (its subtotal), by which the refund's amount is shared among its lines; without it, the order's unit price."""

    sku: str
    quantity: int
    weight: Decimal | None = None


@dataclass(frozen=True)
class RefundDetails:
    """What a refund says about itself besides its money: when it happened (None: now), why (a return reason's
    code, "" for none given), a note, and the goods returned.

    Only ``items`` is part of the refund's fingerprint (what it takes back); the rest describes it, and a replay
    that describes it otherwise answers with the first result and keeps the first description."""

    occurred_at: dt.datetime | None = None
    reason: str = ""
    note: str = ""
    items: tuple[ReturnedItem, ...] = ()


def returned_quantities(items: Sequence[ReturnedItem]) -> dict[str, int]:
    """The quantity returned per SKU, a SKU named twice counted once with both quantities, in SKU order."""
    quantities: dict[str, int] = {}
    for item in items:
        quantities[item.sku] = quantities.get(item.sku, 0) + item.quantity
    return dict(sorted(quantities.items()))


def refund_fingerprint(*, order_id: str, refund_id: str, amount: Decimal, items: Sequence[ReturnedItem] = ()) -> str:
    """A hash of what the refund means, to tell a replay from a conflicting reuse of its id. The returned items
    only where given, so refunds recorded before they were reported keep their fingerprints."""
    canonical: dict[str, Any] = {"order_id": order_id, "refund_id": refund_id, "amount": str(amount.quantize(CENT))}
    if items:
        canonical["items"] = [[sku, quantity] for sku, quantity in returned_quantities(items).items()]
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()
