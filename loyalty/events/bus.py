"""``emit``: the one way a service tells the rest of Klubb what it did.

A service makes its change, then ends with one visible ``emit(...)`` of what happened, inside its transaction.
Subscribers (outgoing webhooks, member messages, history; ``loyalty.events.subscribers`` and the apps that
register their own) run at once, in that transaction: what they write commits or rolls back with the change,
and what they send goes after commit. Each subscriber gets all the events of its type from one ``emit`` in one
call, so a batch job's thousand events cost it a constant number of queries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import transaction

E = TypeVar("E")
Subscriber = Callable[[Sequence[Any]], None]

_subscribers: dict[type, list[Subscriber]] = defaultdict(list)


def subscribe(event_type: type[E], subscriber: Callable[[Sequence[E]], None]) -> None:
    """Call ``subscriber`` with the events of ``event_type`` each ``emit`` carries (once per subscriber)."""
    if subscriber not in _subscribers[event_type]:
        _subscribers[event_type].append(subscriber)


def subscribers_of(event_type: type) -> list[Subscriber]:
    return list(_subscribers.get(event_type, ()))


def emit(*events: object) -> None:
    """Hand ``events`` to their subscribers, by type in the order first emitted. Call it inside the change's
    transaction, after the change: an error a subscriber raises undoes the change with it."""
    by_type: dict[type, list[object]] = {}
    for event in events:
        by_type.setdefault(type(event), []).append(event)
    if not by_type:
        return
    with transaction.atomic(savepoint=False):  # inside the change's transaction: no savepoint of its own
        for event_type, batch in by_type.items():
            for subscriber in _subscribers.get(event_type, ()):
                subscriber(batch)
