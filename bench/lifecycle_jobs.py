"""The lifecycle benchmark's measuring: each nightly job run under a query recorder and a timed transaction.

Every query is counted and timed (a connection ``execute_wrapper``), and so is every batch transaction: the
job's outermost ``transaction.atomic()`` blocks, from BEGIN to COMMIT, which is as long as its row locks
last. They are timed by putting a proxy in place of the ``transaction`` name in the module that defines
the job (``loyalty/ledger/expiry.py`` for ``points_expire``, ``loyalty/tiers/placement.py`` for
``tier_review``), so the job itself runs unchanged. Everything here runs after ``django.setup()``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any
from unittest import mock

_COLLAPSE = [
    (re.compile(r"\((?:%s(?:::[\w\[\]]+)?,\s*)+%s(?:::[\w\[\]]+)?\)"), "(…)"),  # IN lists, VALUES rows
    (re.compile(r"(?:\(…\),\s*)+\(…\)"), "(…), …"),  # many VALUES rows
    (re.compile(r"(?:WHEN \(.+?\) THEN %s(?:::[\w\[\]]+)? )+"), "WHEN … "),  # bulk_update's CASE
    (re.compile(r"(?:(?:%s|\(…\))(?:::[\w\[\]]+)?,\s*){3,}.*$"), "…"),  # a list cut off below
    (re.compile(r"\s+"), " "),
]


def sql_shape(sql: str) -> str:
    """The statement with its parameter lists collapsed, to add up time per kind of statement. Looks at the
    first 1,000 characters only: a batch's statement can be megabytes, and this runs on every query."""
    sql = sql[:1000]
    for pattern, replacement in _COLLAPSE:
        sql = pattern.sub(replacement, sql)
    return sql[:160]


@dataclass
class Batch:
    seconds: float
    queries: int


@dataclass
class Run:
    job: str
    label: str
    wall: float = 0.0
    queries: int = 0
    db_seconds: float = 0.0
    batches: list[Batch] = field(default_factory=list)
    result: str = ""
    shapes: dict[str, list[float]] = field(default_factory=dict)  # shape -> [count, seconds]

    @property
    def longest_batch(self) -> float:
        return max((b.seconds for b in self.batches), default=0.0)

    @property
    def median_batch(self) -> float:
        return statistics.median([b.seconds for b in self.batches]) if self.batches else 0.0

    @property
    def queries_per_batch(self) -> str:
        counts = sorted({b.queries for b in self.batches})
        if not counts:
            return "-"
        return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


class Recorder:
    """Counts and times every query (a connection execute wrapper) and every batch transaction: the job's
    outermost ``transaction.atomic()`` blocks, from BEGIN to COMMIT, which is as long as its row locks last."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - start
            self.run.queries += 1
            self.run.db_seconds += elapsed
            entry = self.run.shapes.setdefault(sql_shape(sql), [0, 0.0])
            entry[0] += 1
            entry[1] += elapsed

    def transaction_proxy(self) -> Any:
        from django.db import connection, transaction

        recorder = self

        class TimedTransaction:
            def __getattr__(self, name: str) -> Any:
                return getattr(transaction, name)

            @contextlib.contextmanager
            def atomic(self, *args: Any, **kwargs: Any) -> Iterator[None]:
                outermost = not connection.in_atomic_block
                queries, start = recorder.run.queries, time.perf_counter()
                with transaction.atomic(*args, **kwargs):
                    yield
                if outermost:  # committed: the batch's locks are released
                    recorder.run.batches.append(Batch(time.perf_counter() - start, recorder.run.queries - queries))

        return TimedTransaction()


def _expired(result: Any) -> str:
    return f"{result.members:,} members, {result.points:,} points expired"


def _reviewed(changes: list[Any]) -> str:
    ups = sum(change.up for change in changes)
    return f"{ups:,} up, {len(changes) - ups:,} down"


# Each job: where to find it (its package, then the module that held both jobs before loyalty was split by
# concept, for --tree on an older checkout) and how to describe what it returned.
JOBS: dict[str, tuple[tuple[str, ...], Callable[[Any], str]]] = {
    "points_expire": (("loyalty.ledger", "loyalty.services.jobs"), _expired),
    "tier_review": (("loyalty.tiers", "loyalty.services.jobs"), _reviewed),
}


@dataclass(frozen=True)
class Job:
    name: str
    function: Callable[..., Any]
    describe_result: Callable[[Any], str]

    @property
    def module(self) -> ModuleType:
        """The module that defines the job: the ``transaction`` its code calls is this module's."""
        return sys.modules[self.function.__module__]


def jobs_find() -> dict[str, Job]:
    """The jobs of ``JOBS``, each from the first of its places that has it."""
    jobs = {}
    for name, (places, describe_result) in JOBS.items():
        for place in places:
            try:
                module = importlib.import_module(place)
            except ModuleNotFoundError as error:
                if not error.name or not f"{place}.".startswith(f"{error.name}."):
                    raise  # not this place (or a package on its way) missing: something inside it is broken
                continue
            if hasattr(module, name):
                jobs[name] = Job(name, getattr(module, name), describe_result)
                break
        else:
            raise SystemExit(f"no {name} in {' or '.join(places)}")
        if not hasattr(jobs[name].module, "transaction"):
            raise SystemExit(f"{jobs[name].module.__name__} has no `transaction` to time {name}'s batches by")
    return jobs


def measure(job: Job, label: str, *, now: dt.datetime, batch: int) -> Run:
    from django.db import connection

    run = Run(job=job.name, label=label)
    recorder = Recorder(run)
    print(f"  {job.name} ({label}) ...", end="", flush=True)
    with (
        connection.execute_wrapper(recorder),
        mock.patch.object(job.module, "transaction", recorder.transaction_proxy()),
    ):
        start = time.perf_counter()
        result = job.function(now=now, batch=batch)
        run.wall = time.perf_counter() - start
    run.result = job.describe_result(result)
    print(f" {run.wall:.1f} s, {run.queries} queries: {run.result}", flush=True)
    return run


def run_jobs(jobs: dict[str, Job], *, batch: int, now: dt.datetime) -> list[Run]:
    expire, review = jobs["points_expire"], jobs["tier_review"]
    night, after_grace = now + dt.timedelta(days=1), now + dt.timedelta(days=31)
    return [
        measure(expire, "first run", now=now, batch=batch),
        measure(expire, "re-run", now=now, batch=batch),
        measure(expire, "next night", now=night, batch=batch),
        measure(review, "first run", now=now, batch=batch),
        measure(review, "re-run", now=now, batch=batch),
        measure(review, "after grace", now=after_grace, batch=batch),
    ]
