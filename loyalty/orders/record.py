"""Recording an order: the one way points are earned from purchases (the API, shop webhooks, the demo)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import replace
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from config.rows import row_exists, row_insert
from config.snapshots import Snapshot
from loyalty import hooks
from loyalty.campaigns import earning_points, earning_rules_active, earning_rules_used
from loyalty.errors import AmountOutOfRange, CurrencyMismatch, OccurredInFuture, TaxExceedsAmount
from loyalty.events import OrderRecorded, PointsChanged, PointsEarned, emit
from loyalty.idempotency import IdempotencyKey, idempotent
from loyalty.ledger import ledger_append, tiers_by_threshold
from loyalty.models import EarningRuleUse, EntryKind, Order, OrderSource, Programme, Shop
from loyalty.orders.types import OrderInput, OrderOutcome, OrderResult
from loyalty.rewards import checkout_codes_use
from loyalty.shops import member_account_lock
from loyalty.tiers import tier_evaluate

# Shop clocks drift; an order more than this far in the future is a bug in the shop's data.
FUTURE_TOLERANCE = dt.timedelta(hours=24)
# The programme's rates and limits, read by every order; kept per process (config/snapshots.py).
_programme = Snapshot(Programme.load, sources=[Programme])


def order_programme() -> Programme:
    """The programme's settings as orders read them (kept per process for a few seconds)."""
    return _programme.get()


def order_record(*, shop: Shop, order: OrderInput, source: str = OrderSource.API) -> OrderResult:
    """Record a shop's order once and award its points.

    Idempotent by ``(shop, order_id)``: the same order again returns the first result and changes
    nothing; the same id with other data raises ``IdempotencyConflict``.
    """
    key = IdempotencyKey(
        # Almost every order is new: ask the cheap question first, read the order only if it was seen.
        find=lambda: (
            Order.objects.filter(shop=shop, external_id=order.order_id).first()
            if row_exists(Order, shop=shop.pk, external_id=order.order_id)
            else None
        ),
        fingerprint=order.fingerprint(),
        subject=f"Order {order.order_id}",
        field="order_id",
    )
    return idempotent(
        key=key,
        record=lambda: _record(shop=shop, order=order, source=source, fingerprint=key.fingerprint),
        replay=lambda existing: OrderResult(order=existing, created=False, outcome=OrderOutcome(**existing.response)),
    )


def _record(*, shop: Shop, order: OrderInput, source: str, fingerprint: str) -> OrderResult:
    programme = order_programme()
    order_validate(shop=shop, programme=programme, order=order)
    # Read before taking the member's lock, which other orders for the member wait for.
    rules = earning_rules_active(at=order.occurred_at)
    tiers = tiers_by_threshold()
    with transaction.atomic():
        member, account = member_account_lock(shop=shop, ref=order.member, enrol=True, source=source)
        # A concurrent copy of this order that got here first makes the INSERT below wait for it and then
        # fail on the unique (shop, order id): the whole transaction rolls back and answers as a replay.
        earning = earning_points(
            programme=programme,
            shop=shop,
            amount=order.amount,
            tax=order.tax,
            tier=account.tier,
            at=order.occurred_at,
            items=[item.as_line() for item in order.items],
            rules=rules,
            used=earning_rules_used(member_id=member.pk, rules=rules),
            customer_tags=order.customer_tags,
        )
        available_at = pending_until(programme=programme, occurred_at=order.occurred_at)
        waits = available_at is not None and programme.pending_tier_points_wait  # tier points too, till then
        tier_at_order = account.tier
        # The tier before the order's rows: with the points it brings counted, the answer is known before the
        # INSERT, which stores it (no UPDATE after the fact).
        tier_change = tier_evaluate(
            account=account,
            programme=programme,
            tiers=tiers,
            incoming_tier_points=0 if waits or not earning.points else earning.tier_points,
            incoming_at=order.occurred_at,
        )
        outcome = OrderOutcome(
            order_id=order.order_id,
            member_id=str(member.public_id),
            points_awarded=earning.points,
            balance=account.balance + earning.points,
            tier=account.tier.name if account.tier else None,
            points_pending=earning.points if earning.points and available_at else 0,
            available_at=available_at.isoformat().replace("+00:00", "Z") if earning.points and available_at else None,
            no_points_reason="customer_tag_excluded" if earning.excluded_tag else None,
        )
        record = Order(
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
            tier=tier_at_order,
            address_fingerprint=address_fingerprint(order.shipping_address),
            response=outcome.as_data(),
        )
        row_insert(record)
        events: list[object] = [OrderRecorded(member=member, order=record)]
        if earning.points:
            entry = ledger_append(
                account=account,
                kind=EntryKind.EARN,
                points=earning.points,
                tier_points=0 if waits else earning.tier_points,
                tier_points_waiting=earning.tier_points if waits else 0,
                effective_at=order.occurred_at,
                order=record,
                detail=earning.detail(),
                programme=programme,
                available_at=available_at,
            )
            EarningRuleUse.objects.bulk_create(
                [
                    EarningRuleUse(rule_id=line.rule_id, member=member, order=record, points=line.points)
                    for line in earning.rules
                    if line.points
                ]
            )
            events += [
                PointsChanged(entry=entry, member_public_id=member.public_id),
                PointsEarned(member=member, order=record, shop=shop, points=earning.points, balance=account.balance),
            ]
        if tier_change is not None:
            events.append(replace(tier_change, member_public_id=member.public_id))  # the webhook needs no lookup
        checkout_codes_use(shop=shop, order_id=record.external_id, codes=order.discount_codes)
        emit(*events)
        hooks.order_recorded(order=record, order_input=order)  # referrals qualify the friend's referral
    return OrderResult(order=record, created=True, outcome=outcome)


def pending_until(*, programme: Programme, occurred_at: dt.datetime) -> dt.datetime | None:
    """When the points of an order placed at ``occurred_at`` become spendable, if that is still to come."""
    if not programme.pending_days:
        return None
    until = occurred_at + dt.timedelta(days=programme.pending_days)
    return until if until > timezone.now() else None


def order_validate(*, shop: Shop, programme: Programme, order: OrderInput) -> None:
    """What any order must be, however it arrives (the API, webhooks, an import); raises the first problem."""
    order_terms_validate(
        shop=shop, programme=programme, amount=order.amount, tax=order.tax, currency=order.currency,
        occurred_at=order.occurred_at,
    )  # fmt: skip


def order_terms_validate(
    *, shop: Shop, programme: Programme, amount: Decimal, tax: Decimal, currency: str, occurred_at: dt.datetime
) -> None:
    """``order_validate`` for an order that has no id or member yet (an earning preview)."""
    if currency != shop.currency:
        raise CurrencyMismatch(f"This shop reports orders in {shop.currency}, not {currency}.")
    if amount > programme.max_order_amount:
        raise AmountOutOfRange()
    if tax > amount:
        raise TaxExceedsAmount()
    occurred_at_validate(occurred_at)


def occurred_at_validate(occurred_at: dt.datetime, message: str | None = None) -> None:
    """When a shop says something happened (an order, a refund) may be up to ``FUTURE_TOLERANCE`` ahead of our
    clock, no more. (Without a time zone or before 2000, the API's ``StrictDateTimeField`` refuses it.)"""
    if occurred_at > timezone.now() + FUTURE_TOLERANCE:
        raise OccurredInFuture(message)


def address_fingerprint(address: str) -> str:
    """A hash of a shipping address with case, spacing and punctuation ignored ("" for none).

    Lets fraud rules see that two orders went to one address without Klubb storing the address.
    """
    words = "".join(ch if ch.isalnum() else " " for ch in address.casefold()).split()
    return hashlib.sha256(" ".join(words).encode()).hexdigest() if words else ""
