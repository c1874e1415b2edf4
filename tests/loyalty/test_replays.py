"""Shops resend events: 30% of what arrives is a duplicate, in any order, and (on PostgreSQL) concurrently.

The balances must end exactly as if every order and refund had been sent once. The expectation is computed here
from the events alone, with the rules the README states (1 point per whole krone; a refund's share of the order's
points rounded down, a full refund takes back exactly what the order earned), not from what the services return.
A refund that arrives before its order is answered ``order_not_found``; the sender retries it later, as a shop would.
"""

from __future__ import annotations

import math
import queue
import random
import threading
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from loyalty.errors import OrderNotFound
from loyalty.ledger import ledger_mismatches, lot_mismatches
from loyalty.models import EntryKind, LedgerEntry, Order, PointsAccount, Refund
from loyalty.orders import OrderInput, OrderItem, order_record, refund_record
from loyalty.shops import MemberRef

DUPLICATE_SHARE = 0.3


@dataclass(frozen=True)
class OrderEvent:
    order_id: str
    email: str
    amount: Decimal


@dataclass(frozen=True)
class RefundEvent:
    refund_id: str
    order_id: str
    amount: Decimal


def make_events(*, total: int, members: int, seed: int) -> tuple[list[OrderEvent | RefundEvent], list]:
    """``total`` events of which 30% are copies of others, shuffled; also returns the unique ones."""
    rng = random.Random(seed)
    unique_count = round(total * (1 - DUPLICATE_SHARE))
    unique: list[OrderEvent | RefundEvent] = []
    orders: list[OrderEvent] = []
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    while len(unique) < unique_count:
        if orders and rng.random() < 0.3:
            order = rng.choice(orders)
            left = order.amount - refunded[order.order_id]
            if left <= 0:
                continue
            amount = (
                left if rng.random() < 0.3 else (left * Decimal(rng.randint(1, 90)) / 100).quantize(Decimal("0.01"))
            )
            if amount <= 0:
                continue
            refunded[order.order_id] += amount
            unique.append(RefundEvent(f"R-{len(unique)}", order.order_id, amount))
        else:
            order = OrderEvent(
                f"O-{len(unique)}", f"m{rng.randrange(members)}@example.com", rng.randint(1, 500_000) / Decimal(100)
            )
            orders.append(order)
            unique.append(order)
    events = unique + [rng.choice(unique) for _ in range(total - unique_count)]
    rng.shuffle(events)
    return events, unique


def expected_balances(unique: list[OrderEvent | RefundEvent]) -> dict[str, int]:
    orders = {e.order_id: e for e in unique if isinstance(e, OrderEvent)}
    refunded: dict[str, Decimal] = defaultdict(Decimal)
    for event in unique:
        if isinstance(event, RefundEvent):
            refunded[event.order_id] += event.amount
    balances: dict[str, int] = defaultdict(int)
    for order in orders.values():
        earned = math.floor(order.amount)
        back = (
            earned
            if refunded[order.order_id] >= order.amount
            else math.floor(earned * refunded[order.order_id] / order.amount)
        )
        balances[order.email] += earned - back
    return dict(balances)


def send(shop, event: OrderEvent | RefundEvent, occurred_at) -> None:
    if isinstance(event, OrderEvent):
        order_record(
            shop=shop,
            order=OrderInput(
                order_id=event.order_id,
                member=MemberRef(email=event.email),
                amount=event.amount,
                currency=shop.currency,
                occurred_at=occurred_at,
                items=(OrderItem(sku="S", name="Thing", quantity=1, unit_price=event.amount),),
            ),
        )
    else:
        refund_record(shop=shop, order_id=event.order_id, refund_id=event.refund_id, amount=event.amount)


def deliver(shop, events: list, *, threads: int) -> int:
    """Send every event from ``threads`` senders; a refund for an order not there yet goes to the back of the queue."""
    pending: queue.Queue = queue.Queue()
    for event in events:
        pending.put(event)
    occurred_at = timezone.now()
    retries = 0
    errors: list[BaseException] = []
    lock = threading.Lock()

    def sender() -> None:
        nonlocal retries
        try:
            if threads > 1 and connection.vendor == "postgresql":
                # Each event commits; waiting for the WAL flush on every commit would make this test mostly
                # disk waits. Crash durability is not what it checks: isolation and idempotency are unchanged.
                with connection.cursor() as cursor:
                    cursor.execute("SET synchronous_commit TO off")
            while True:
                try:
                    event = pending.get_nowait()
                except queue.Empty:
                    return
                try:
                    send(shop, event, occurred_at)
                except OrderNotFound:
                    with lock:
                        retries += 1
                    pending.put(event)
        except BaseException as exc:  # surfaced below, with the event stream stopped
            errors.append(exc)
        finally:
            if threads > 1:
                connection.close()

    if threads == 1:
        sender()
    else:
        workers = [threading.Thread(target=sender) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=600)
    assert not errors, errors[:3]
    return retries


def assert_sent_once(unique: list) -> None:
    expected = expected_balances(unique)
    actual = dict(PointsAccount.objects.values_list("member__user__email", "balance"))
    assert actual == {email: expected.get(email, 0) for email in actual}
    assert set(expected) <= set(actual)
    assert Order.objects.count() == sum(isinstance(e, OrderEvent) for e in unique)
    assert Refund.objects.count() == sum(isinstance(e, RefundEvent) for e in unique)
    earn_entries = LedgerEntry.objects.filter(kind=EntryKind.EARN).values("order_id").annotate(n=Count("id"))
    assert {row["n"] for row in earn_entries} <= {1}
    clawbacks = LedgerEntry.objects.filter(kind=EntryKind.CLAWBACK).values("refund_id").annotate(n=Count("id"))
    assert {row["n"] for row in clawbacks} <= {1}
    assert ledger_mismatches() == []
    assert lot_mismatches() == []


def test_the_expectation_is_computed_from_the_events_alone():
    unique = [
        OrderEvent("O-1", "a@example.com", Decimal("1000.50")),
        RefundEvent("R-1", "O-1", Decimal("333.33")),
        RefundEvent("R-2", "O-1", Decimal("667.17")),
        OrderEvent("O-2", "a@example.com", Decimal("99.99")),
        RefundEvent("R-3", "O-2", Decimal("10.00")),
        OrderEvent("O-3", "b@example.com", Decimal("5")),
    ]
    # O-1 fully refunded: 1000 back; O-2 earns 99, a tenth refunded takes back floor(9.9009...) = 9.
    assert expected_balances(unique) == {"a@example.com": 90, "b@example.com": 5}
    events, unique = make_events(total=1000, members=10, seed=1)
    assert len(events) == 1000 and len(unique) == 700
    assert len(set(map(id, events))) < len(events)


@pytest.mark.django_db
def test_shuffled_replays_leave_balances_as_if_each_event_was_sent_once(shop, programme):
    # The PostgreSQL pass also runs the 10,000-event concurrent version below; this one is SQLite's.
    total = 500 if connection.vendor == "postgresql" else 1500
    events, unique = make_events(total=total, members=60, seed=7)
    deliver(shop, events, threads=1)
    assert_sent_once(unique)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_ten_thousand_concurrent_shuffled_replays_leave_balances_as_if_each_was_sent_once(shop, programme):
    events, unique = make_events(total=10_000, members=300, seed=2026)
    deliver(shop, events, threads=4)
    assert_sent_once(unique)
