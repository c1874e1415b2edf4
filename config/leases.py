"""Work that workers take from a table: a lease while one sends, and backoff between failed attempts.

Webhook deliveries (``loyalty.events.delivery``) and messages to members (``members.messaging``) are both rows
that say when they are next due. A worker claims due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` and
pushes their due time ahead by a lease, so no other worker (a retry, the sweep) takes them while it sends;
a worker that dies leaves the lease to run out, and the next sweep takes the row again. A failed attempt is
tried again after a delay that doubles each time, up to a cap, with jitter so that failing receivers are not
hit in step, until the attempts or the time allowed run out.

Below every app (``config``), so each app keeps its own numbers, statuses and fields and shares only this.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import models, transaction
from django.utils import timezone

M = TypeVar("M", bound=models.Model)


def lease_claim(
    queryset: models.QuerySet[M],
    *,
    due_field: str,
    lease: dt.timedelta,
    limit: int,
    now: dt.datetime | None = None,
    of: Sequence[str] = (),
    **changes: Any,
) -> list[M]:
    """Take up to ``limit`` rows of ``queryset`` that are due (``due_field <= now``) for this worker.

    Rows another worker has locked are skipped. The rows taken get ``due_field = now + lease`` and
    ``changes`` (e.g. a status, ``attempts=F("attempts") + 1``) in the same transaction; the instances
    returned carry the new due time (not ``changes``, which may be expressions). ``of``: the tables to lock
    when ``queryset`` joins others (``select_for_update(of=...)``). Order ``queryset`` to choose which rows
    go first.
    """
    now = now or timezone.now()
    until = now + lease
    with transaction.atomic():
        rows = list(
            queryset.select_for_update(skip_locked=True, of=tuple(of)).filter(**{f"{due_field}__lte": now})[:limit]
        )
        if rows:
            queryset.model._default_manager.filter(pk__in=[row.pk for row in rows]).update(
                **{due_field: until}, **changes
            )
    for row in rows:
        setattr(row, due_field, until)
    return rows


def backoff_delay(attempts: int, *, base: float, cap: float, jitter: float = 0.1) -> float:
    """Seconds to wait after ``attempts`` failed attempts: ``base`` x 2^(attempts-1), at most ``cap``, plus up to
    ``jitter`` (a fraction) of that at random."""
    delay = min(base * 2 ** max(attempts - 1, 0), cap)
    return delay + random.uniform(0, delay * jitter)  # jitter, not cryptography


@dataclass(frozen=True)
class RetryPolicy:
    """How a failed attempt is tried again: backoff from ``base_seconds`` doubling up to ``cap_seconds``, until
    ``max_attempts`` were made (if set) or ``window`` has passed since the work started (if set)."""

    base_seconds: float
    cap_seconds: float
    jitter: float = 0.1
    max_attempts: int | None = None
    window: dt.timedelta | None = None

    def backoff(self, attempts: int) -> float:
        return backoff_delay(attempts, base=self.base_seconds, cap=self.cap_seconds, jitter=self.jitter)

    def next_attempt_at(
        self, *, attempts: int, now: dt.datetime, started: dt.datetime | None = None
    ) -> dt.datetime | None:
        """When to try again after ``attempts`` attempts, the last failed now; ``None``: give up.

        With a ``window``, the next attempt is never later than ``started + window``, and none is made once
        that time has come.
        """
        if self.max_attempts is not None and attempts >= self.max_attempts:
            return None
        deadline = started + self.window if self.window is not None and started is not None else None
        if deadline is not None and now >= deadline:
            return None
        next_at = now + dt.timedelta(seconds=self.backoff(attempts))
        return min(next_at, deadline) if deadline is not None else next_at
