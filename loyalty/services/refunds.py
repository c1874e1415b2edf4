"""Refunds claw back the points their share of the order earned, never more than it earned."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from loyalty import hooks
from loyalty.errors import IdempotencyConflict, OrderNotFound, RefundExceedsOrder
from loyalty.models import EarningRuleUse, EntryKind, Order, OrderSource, Refund, Shop
from loyalty.services.ledger import account_lock, ledger_append

CENT = Decimal("0.01")


@dataclass(frozen=True)
class RefundResult:
    refund: Refund
    created: bool
    body: dict[str, Any]


def refund_fingerprint(*, order_id: str, refund_id: str, amount: Decimal) -> str:
    canonical = {"order_id": order_id, "refund_id": refund_id, "amount": str(amount.quantize(CENT))}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


def clawback_target(*, awarded: int, refunded: Decimal, amount: Decimal) -> int:
    """Points to have clawed back in total once ``refunded`` of ``amount`` is refunded.

    Proportional and rounded down, so partial refunds never take more than their share; a full
    refund takes back exactly what was awarded.
    """
    if refunded >= amount:
        return awarded
    return math.floor(Decimal(awarded) * refunded / amount)


def refund_record(
    *, shop: Shop, order_id: str, refund_id: str, amount: Decimal, source: str = OrderSource.API
) -> RefundResult:
    """Record a refund once and claw back its share of the order's points.

    Idempotent by ``(shop, refund_id)``. The member's balance may go below zero here (the points
    were already spent); nowhere else.
    """
    fingerprint = refund_fingerprint(order_id=order_id, refund_id=refund_id, amount=amount)
    existing = Refund.objects.filter(shop=shop, external_id=refund_id).first()
    if existing is not None:
        return _replay(existing, fingerprint)
    order = Order.objects.filter(shop=shop, external_id=order_id).only("pk", "member_id").first()
    if order is None:
        raise OrderNotFound()
    try:
        with transaction.atomic():
            account = account_lock(member=order.member_id)
            existing = Refund.objects.filter(shop=shop, external_id=refund_id).first()
            if existing is not None:
                return _replay(existing, fingerprint)
            order = Order.objects.select_for_update(of=("self",)).select_related("member").get(pk=order.pk)
            refunded = order.refunded_amount + amount
            if refunded > order.amount:
                remaining = order.amount - order.refunded_amount
                raise RefundExceedsOrder(
                    f"Only {remaining} {order.currency} of order {order.external_id} is left to refund."
                )
            points = clawback_target(awarded=order.points_awarded, refunded=refunded, amount=order.amount)
            points -= order.points_clawed_back
            tier_points = clawback_target(awarded=order.tier_points_awarded, refunded=refunded, amount=order.amount)
            tier_points -= order.tier_points_clawed_back
            refund = Refund.objects.create(
                shop=shop,
                order=order,
                external_id=refund_id,
                amount=amount,
                source=source,
                fingerprint=fingerprint,
                points_clawed_back=points,
            )
            if points:
                ledger_append(
                    account=account,
                    kind=EntryKind.CLAWBACK,
                    points=-points,
                    tier_points=-tier_points,
                    allow_negative=True,
                    # Same window as the points it takes back, so a tier never loses them twice.
                    effective_at=order.occurred_at,
                    order=order,
                    refund=refund,
                    detail={"refunded": str(amount), "order_amount": str(order.amount)},
                )
            order.refunded_amount = refunded
            order.points_clawed_back += points
            order.tier_points_clawed_back += tier_points
            order.save(update_fields=["refunded_amount", "points_clawed_back", "tier_points_clawed_back"])
            _rule_uses_claw_back(order=order)
            hooks.refund_recorded(refund=refund)
            refund.response = {
                "refund_id": refund_id,
                "order_id": order.external_id,
                "member_id": str(order.member.public_id),
                "points_clawed_back": points,
                "balance": account.balance,
            }
            refund.save(update_fields=["response"])
    except IntegrityError:
        existing = Refund.objects.filter(shop=shop, external_id=refund_id).first()
        if existing is None:
            raise
        return _replay(existing, fingerprint)
    return RefundResult(refund=refund, created=True, body=refund.response)


def _rule_uses_claw_back(*, order: Order) -> None:
    """Give back to each campaign rule's cap the share of its points that the order's refunds took back
    (under the member's account lock, which the cap is read under too)."""
    uses = list(order.rule_uses.all())
    for use in uses:
        use.clawed_back = clawback_target(awarded=use.points, refunded=order.refunded_amount, amount=order.amount)
    EarningRuleUse.objects.bulk_update(uses, ["clawed_back"])


def _replay(existing: Refund, fingerprint: str) -> RefundResult:
    if existing.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"Refund {existing.external_id} was already reported with different data.", field="refund_id"
        )
    return RefundResult(refund=existing, created=False, body=existing.response)
