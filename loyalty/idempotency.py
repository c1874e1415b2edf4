"""One idempotency rule for everything a shop reports under its own id: orders, refunds and events.

The shop's id is unique per shop in the database. A report whose id was seen before replays the first
result if its data is the same (compared by a fingerprint of what it means) and is refused with
``IdempotencyConflict`` if not. Two copies racing each other: the second one's insert waits for the first
and fails on the unique constraint, its transaction rolls back whole, and it answers as a replay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from django.db import IntegrityError

from loyalty.errors import IdempotencyConflict


class Fingerprinted(Protocol):
    fingerprint: str


M = TypeVar("M", bound=Fingerprinted)
R = TypeVar("R")


@dataclass(frozen=True)
class IdempotencyKey(Generic[M]):
    """A shop's id for one report: how to find what an earlier report with it made, and what this one means."""

    find: Callable[[], M | None]
    fingerprint: str
    subject: str  # "Order 1001": names the id in the conflict's message
    field: str  # the request field that carries the id

    def prior(self) -> M | None:
        """What an earlier report with this id made, if any; ``IdempotencyConflict`` if its data differed."""
        existing = self.find()
        if existing is not None and existing.fingerprint != self.fingerprint:
            raise IdempotencyConflict(f"{self.subject} was already reported with different data.", field=self.field)
        return existing


def idempotent(*, key: IdempotencyKey[M], record: Callable[[], R], replay: Callable[[M], R]) -> R:
    """Replay what an earlier report with ``key`` made, or ``record`` this one (in its own transaction; it may
    ask ``key.prior()`` again under its locks). Losing a race on the unique id is a replay too."""
    if (existing := key.prior()) is not None:
        return replay(existing)
    try:
        return record()
    except IntegrityError:
        existing = key.prior()
        if existing is None:
            raise
        return replay(existing)
