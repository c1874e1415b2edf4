"""Orders: the one way points are earned from purchases."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty import hooks
from loyalty.errors import (
    AmountOutOfRange,
    CurrencyMismatch,
    IdempotencyConflict,
    OccurredInFuture,
    TaxExceedsAmount,
)
from loyalty.models import EarningRuleUse, EntryKind, Order, OrderSource, Programme, Shop
from loyalty.services.earning import ItemLine, earning_points, earning_rules_active, earning_rules_used
from loyalty.services.ledger import account_lock, ledger_append
from loyalty.services.members import MemberRef, member_resolve
from loyalty.services.tiers import tier_evaluate, tiers_by_threshold
from members.messaging import Outgoing, messages_queue
from members.models import MessageKind

CENT = Decimal("0.01")
# Shop clocks drift; an order more than this far in the future is a bug in the shop's data.
FUTURE_TOLERANCE = dt.timedelta(hours=24)
# The programme's rates and limits, read by every order; kept per process (config/snapshots.py).
_programme = Snapshot(Programme.load, sources=[Programme])


@dataclass(frozen=True)
class OrderItem:
    sku: str = ""
    name: str = ""
    category: str = ""
    quantity: int = 1
    unit_price: Decimal = Decimal("0")

    def as_json(self, *, unit_price: str | None = None) -> dict[str, Any]:
        """The item as stored on the order (``dataclasses.asdict`` is a deep copy, slow in bulk imports)."""
        price = str(self.unit_price) if unit_price is None else unit_price
        return {"sku": self.sku, "name": self.name, "category": self.category, "quantity": self.quantity,
                "unit_price": price}  # fmt: skip


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

    def fingerprint(self) -> str:
        """A hash of what the order means, to tell a replay from a conflicting reuse of its id."""
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
class OrderResult:
    order: Order
    created: bool
    body: dict[str, Any]


def order_record(*, shop: Shop, order: OrderInput, source: str = OrderSource.API) -> OrderResult:
    """Record a shop's order once and award its points.

    Idempotent by ``(shop, order_id)``: the same order again returns the first result and changes
    nothing; the same id with other data raises ``IdempotencyConflict``.
    """
    fingerprint = order.fingerprint()
    existing = Order.objects.filter(shop=shop, external_id=order.order_id).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    programme = _programme.get()
    order_validate(shop=shop, programme=programme, order=order)
    # Read before taking the member's lock, which other orders for the member wait for.
    rules = earning_rules_active(at=order.occurred_at)
    tiers = tiers_by_threshold()
    try:
        with transaction.atomic():
            member, _created = member_resolve(shop=shop, ref=order.member, enrol=True, source=source)
            account = account_lock(member=member)
            # A concurrent copy of this order that got here first makes the INSERT below wait for it and then
            # fail on the unique (shop, order id): the whole transaction rolls back and answers as a replay.
            earning = earning_points(
                programme=programme,
                shop=shop,
                amount=order.amount,
                tax=order.tax,
                tier=account.tier,
                at=order.occurred_at,
                items=[
                    ItemLine(sku=i.sku, category=i.category, quantity=i.quantity, unit_price=i.unit_price)
                    for i in order.items
                ],
                rules=rules,
                used=earning_rules_used(member_id=member.pk, rules=rules),
            )
            record = Order.objects.create(
                shop=shop,
                external_id=order.order_id,
                member=member,
                amount=order.amount,
                tax=order.tax,
                currency=order.currency,
                occurred_at=order.occurred_at,
                items=[item.as_json() for item in order.items],
                source=source,
                fingerprint=fingerprint,
                points_awarded=earning.points,
                tier_points_awarded=earning.tier_points,
                tier=account.tier,
                address_fingerprint=address_fingerprint(order.shipping_address),
            )
            if earning.points:
                ledger_append(
                    account=account,
                    kind=EntryKind.EARN,
                    points=earning.points,
                    tier_points=earning.tier_points,
                    effective_at=order.occurred_at,
                    order=record,
                    detail=earning.detail(),
                    programme=programme,
                )
                EarningRuleUse.objects.bulk_create(
                    [
                        EarningRuleUse(rule_id=line.rule_id, member=member, order=record, points=line.points)
                        for line in earning.rules
                        if line.points
                    ]
                )
                messages_queue(
                    members=[member],
                    kind=MessageKind.POINTS_EARNED,
                    items=[
                        Outgoing(
                            member_id=member.pk,
                            key=str(record.pk),
                            context={
                                "points": earning.points,
                                "balance": account.balance,
                                "order": record.external_id,
                                "shop": shop.name,
                            },
                        )
                    ],
                )
            tier_evaluate(account=account, programme=programme, tiers=tiers)
            hooks.order_recorded(order=record, order_input=order)
            record.response = {
                "order_id": record.external_id,
                "member_id": str(member.public_id),
                "points_awarded": earning.points,
                "balance": account.balance,
                "tier": account.tier.name if account.tier else None,
            }
            record.save(update_fields=["response"])
    except IntegrityError:
        existing = Order.objects.filter(shop=shop, external_id=order.order_id).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    return OrderResult(order=record, created=True, body=record.response)


def _replay(existing: Order, fingerprint: str) -> OrderResult:
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Order {existing.external_id} was already reported with different data.", field="order_id"
        )
    return OrderResult(order=existing, created=False, body=existing.response)


def order_validate(*, shop: Shop, programme: Programme, order: OrderInput) -> None:
    """What any order must be, however it arrives (the API, webhooks, an import); raises the first problem."""
    if order.currency != shop.currency:
        raise CurrencyMismatch(f"This shop reports orders in {shop.currency}, not {order.currency}.")
    if order.amount > programme.max_order_amount:
        raise AmountOutOfRange()
    if order.tax > order.amount:
        raise TaxExceedsAmount()
    if order.occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise OccurredInFuture()


def address_fingerprint(address: str) -> str:
    """A hash of a shipping address with case, spacing and punctuation ignored ("" for none).

    Lets fraud rules see that two orders went to one address without Klubb storing the address.
    """
    words = "".join(ch if ch.isalnum() else " " for ch in address.casefold()).split()
    return hashlib.sha256(" ".join(words).encode()).hexdigest() if words else ""
