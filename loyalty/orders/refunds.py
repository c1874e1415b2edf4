"""Refunds claw back the points their share of the order earned, never more than it earned."""

from __future__ import annotations

import math
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty import hooks
from loyalty.errors import NothingLeftToRefund, OrderNotFound, RefundExceedsOrder, UnknownReturnReason
from loyalty.events import PointsChanged, RefundRecorded, emit
from loyalty.idempotency import IdempotencyKey, idempotent
from loyalty.ledger import account_lock, ledger_append
from loyalty.models import EarningRuleUse, EntryKind, Order, OrderSource, Programme, Refund, RefundLine, Shop
from loyalty.orders.record import occurred_at_validate
from loyalty.orders.returns import refund_lines, return_reason_find
from loyalty.orders.types import RefundDetails, RefundOutcome, RefundResult, refund_fingerprint
from loyalty.rewards import checkout_spenders, order_redemptions, redemption_return

NO_DETAILS = RefundDetails()


def clawback_target(*, awarded: int, refunded: Decimal, amount: Decimal) -> int:
    """Points to have clawed back in total once ``refunded`` of ``amount`` is refunded.

    Proportional and rounded down, so partial refunds never take more than their share; a full
    refund takes back exactly what was awarded.
    """
    if refunded >= amount:
        return awarded
    return math.floor(Decimal(awarded) * refunded / amount)


def platform_refund_record(
    *,
    shop: Shop,
    order_id: str,
    refund_id: str,
    amount: Decimal | None,
    source: str,
    details: RefundDetails = NO_DETAILS,
) -> RefundResult:
    """Record a platform's refund of ``amount`` (None: all that is left of the order), clamped to what is left of
    the order, since platforms round differently. What is left is read under the order's lock, so two refunds of
    one order arriving together are both recorded, the second with what the first left. Raises ``OrderNotFound``
    and ``NothingLeftToRefund``.

    The platform's refund id names one refund: seen before, it replays whatever amount the first delivery had
    (deliveries of one refund may say different amounts once the order changed). Its returned items are kept as
    far as they match the order (``refund_lines``).
    """
    existing = Refund.objects.filter(shop=shop, external_id=refund_id).first()
    if existing is not None:
        return _replay(existing)
    key = IdempotencyKey(
        find=lambda: Refund.objects.filter(shop=shop, external_id=refund_id).first(),
        fingerprint=refund_fingerprint(
            order_id=order_id, refund_id=refund_id, amount=amount or Decimal("0"), items=details.items
        ),
        subject=f"Refund {refund_id}",
        field="refund_id",
    )
    return idempotent(
        key=key,
        record=lambda: _record(
            shop=shop,
            order_id=order_id,
            refund_id=refund_id,
            amount=amount,
            source=source,
            details=details,
            key=key,
            clamp=True,
        ),
        replay=_replay,
    )


def refund_record(
    *,
    shop: Shop,
    order_id: str,
    refund_id: str,
    amount: Decimal,
    source: str = OrderSource.API,
    details: RefundDetails = NO_DETAILS,
) -> RefundResult:
    """Record a refund once and claw back its share of the order's points, with why and what came back
    (``details``: an unknown reason is ``UnknownReturnReason``; items not in the order, or more than it has left,
    ``ReturnedItemNotInOrder``/``ReturnExceedsOrdered``; a date in the future ``OccurredInFuture``).

    Idempotent by ``(shop, refund_id)``, the amount and items being what the refund means; its date, reason and
    note describe it, and a replay keeps the first ones. The member's balance may go below zero here (the points
    were already spent); nowhere else.
    """
    key = IdempotencyKey(
        find=lambda: Refund.objects.filter(shop=shop, external_id=refund_id).first(),
        fingerprint=refund_fingerprint(order_id=order_id, refund_id=refund_id, amount=amount, items=details.items),
        subject=f"Refund {refund_id}",
        field="refund_id",
    )
    return idempotent(
        key=key,
        record=lambda: _record(
            shop=shop, order_id=order_id, refund_id=refund_id, amount=amount, source=source, details=details, key=key
        ),
        replay=_replay,
    )


def _replay(existing: Refund) -> RefundResult:
    return RefundResult(refund=existing, created=False, outcome=RefundOutcome(**existing.response))


def _record(
    *,
    shop: Shop,
    order_id: str,
    refund_id: str,
    amount: Decimal | None,
    source: str,
    details: RefundDetails,
    key: IdempotencyKey[Refund],
    clamp: bool = False,
) -> RefundResult:
    order = Order.objects.filter(shop=shop, external_id=order_id).only("pk", "member_id").first()
    if order is None:
        raise OrderNotFound()
    try:
        reason = return_reason_find(code=details.reason)
    except UnknownReturnReason:
        if not clamp:
            raise
        reason = None  # made inactive since the platform's text was read: the refund's points still come back
    occurred_at = details.occurred_at or timezone.now()
    occurred_at_validate(occurred_at, _("The refund time is in the future."))
    # A checkout code of another member may have paid part of the order: a refund gives their points back too.
    # Every account the refund may touch is locked first, in member order (as batches lock them), before any
    # redemption row: a refund of Ola's order with Kari's code and one of Kari's with Ola's cannot deadlock.
    spenders = set(checkout_spenders(shop=shop, order_id=order_id))
    with transaction.atomic():
        accounts = {member_id: account_lock(member=member_id) for member_id in sorted({order.member_id, *spenders})}
        account = accounts[order.member_id]
        if (existing := key.prior()) is not None:  # recorded while this one waited for the lock
            return _replay(existing)
        order = Order.objects.select_for_update(of=("self",)).select_related("member", "shop").get(pk=order.pk)
        if clamp:  # a platform's refund: at most what is left, decided under the lock from fresh figures
            left = order.amount - order.refunded_amount
            amount = left if amount is None else min(amount, left)
            if amount <= 0:
                raise NothingLeftToRefund()
        assert amount is not None
        refunded = order.refunded_amount + amount
        if refunded > order.amount:
            remaining = order.amount - order.refunded_amount
            raise RefundExceedsOrder(
                f"Only {remaining} {order.currency} of order {order.external_id} is left to refund."
            )
        lines = refund_lines(order=order, items=details.items, amount=amount, clamp=clamp)
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
            fingerprint=key.fingerprint,
            points_clawed_back=points,
            occurred_at=occurred_at,
            reason=reason,
            note=details.note,
        )
        for line in lines:
            line.refund = refund
        RefundLine.objects.bulk_create(lines)
        events: list[object] = []
        if points:
            entry = ledger_append(
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
            events.append(PointsChanged(entry=entry, member_public_id=order.member.public_id))
        returned = 0
        if Programme.load().refund_returns_points:
            for redemption in order_redemptions(shop=shop, order_id=order.external_id):
                owed = clawback_target(awarded=redemption.points, refunded=refunded, amount=order.amount)
                if redemption.member_id not in accounts:  # captured for this order since the locks were taken
                    accounts[redemption.member_id] = account_lock(member=redemption.member_id)
                back = redemption_return(
                    account=accounts[redemption.member_id],
                    redemption=redemption,
                    points=owed - redemption.points_returned,
                    order=order,
                    refund=refund,
                )
                if back is not None:
                    returned += back.points
                    events.append(PointsChanged(entry=back, member_public_id=redemption.member.public_id))
        order.refunded_amount = refunded
        order.points_clawed_back += points
        order.tier_points_clawed_back += tier_points
        order.save(update_fields=["refunded_amount", "points_clawed_back", "tier_points_clawed_back"])
        _rule_uses_claw_back(order=order)
        events.append(RefundRecorded(order=order, skus=tuple(line.sku for line in lines)))
        emit(*events)
        hooks.refund_recorded(refund=refund)  # referrals reject the friend's referral within its window
        outcome = RefundOutcome(
            refund_id=refund_id,
            order_id=order.external_id,
            member_id=str(order.member.public_id),
            points_clawed_back=points,
            balance=account.balance,
            points_returned=returned,
        )
        refund.response = outcome.as_data()
        refund.save(update_fields=["response"])
    return RefundResult(refund=refund, created=True, outcome=outcome)


def _rule_uses_claw_back(*, order: Order) -> None:
    """Give back to each campaign rule's cap the share of its points that the order's refunds took back
    (under the member's account lock, which the cap is read under too)."""
    uses = list(order.rule_uses.all())
    for use in uses:
        use.clawed_back = clawback_target(awarded=use.points, refunded=order.refunded_amount, amount=order.amount)
    EarningRuleUse.objects.bulk_update(uses, ["clawed_back"])
