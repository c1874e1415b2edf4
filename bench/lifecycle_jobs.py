"""The lifecycle benchmark's measuring: each scheduled job run under a query recorder and a timed transaction.

Every query is counted and timed (a connection ``execute_wrapper``), and so is every batch transaction: the
job's outermost ``transaction.atomic()`` blocks, from BEGIN to COMMIT, which is as long as its row locks
last. They are timed by putting a proxy in place of the ``transaction`` name in the module that defines
the job (``loyalty/ledger/expiry.py`` for ``points_expire``, ``loyalty/tiers/placement.py`` for
``tier_review``, both ``loyalty/tiers/placement.py`` and ``loyalty/ledger/pending.py`` for the pending points'
job), so the job itself runs unchanged. Everything here runs after ``django.setup()``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import os
import re
import resource
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
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
    cpu: float = 0.0  # this process's CPU seconds (user + system): the job's Python
    db_cpu: float | None = None  # its PostgreSQL backend's CPU seconds (None: the server is not on this machine)
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


def _confirmed(result: Any) -> str:
    text = f"{result.members:,} members, {result.points:,} points confirmed"
    if (lifted := getattr(result, "tier_members", None)) is not None:  # the programme may hold tier points back
        text += f", {len(lifted):,} members' tier points counted"
    return text


@dataclass(frozen=True)
class JobSpec:
    """Where to find a job: the first of ``places`` (module, function) that has it, e.g. its package and then
    the module that held the nightly jobs before loyalty was split by concept (for --tree on an older
    checkout). ``inner``: other modules whose batch transactions are the job's (a job that calls another).
    ``required``: every checkout has it; an optional job a --tree checkout lacks is skipped."""

    places: tuple[tuple[str, str], ...]
    describe_result: Callable[[Any], str]
    inner: tuple[str, ...] = ()
    required: bool = True


JOBS: dict[str, JobSpec] = {
    "points_expire": JobSpec(
        (("loyalty.ledger", "points_expire"), ("loyalty.services.jobs", "points_expire")), _expired
    ),
    "tier_review": JobSpec((("loyalty.tiers", "tier_review"), ("loyalty.services.jobs", "tier_review")), _reviewed),
    # Pending points: the scheduled job (the Celery task and the command) is ``pending_points_confirm``, which runs
    # ``points_confirm`` (its batches) and then lifts the tiers of members whose tier points waited for it; before
    # that wrapper existed, the task ran ``points_confirm`` itself. A checkout without pending points skips it.
    "points_confirm": JobSpec(
        (("loyalty.tiers", "pending_points_confirm"), ("loyalty.ledger", "points_confirm")),
        _confirmed,
        inner=("loyalty.ledger.pending",),
        required=False,
    ),
}


@dataclass(frozen=True)
class Job:
    name: str
    function: Callable[..., Any]
    describe_result: Callable[[Any], str]
    inner: tuple[ModuleType, ...] = ()

    @property
    def module(self) -> ModuleType:
        """The module that defines the job: the ``transaction`` its code calls is this module's."""
        return sys.modules[self.function.__module__]

    @property
    def modules(self) -> list[ModuleType]:
        """The modules whose ``transaction`` is timed: the job's, and those of the jobs it calls."""
        return [self.module, *(m for m in self.inner if m is not self.module)]


def _import(place: str) -> ModuleType | None:
    """The module, or ``None`` when that module (or a package on its way) does not exist in this checkout."""
    try:
        return importlib.import_module(place)
    except ModuleNotFoundError as error:
        if not error.name or not f"{place}.".startswith(f"{error.name}."):
            raise  # not this place (or a package on its way) missing: something inside it is broken
        return None


def jobs_find() -> tuple[dict[str, Job], list[str]]:
    """The jobs of ``JOBS``, each from the first of its places that has it, and the optional ones none has."""
    jobs, missing = {}, []
    for name, spec in JOBS.items():
        for place, attribute in spec.places:
            if (module := _import(place)) is not None and hasattr(module, attribute):
                inner = tuple(m for m in map(_import, spec.inner) if m is not None)
                jobs[name] = Job(name, getattr(module, attribute), spec.describe_result, inner)
                break
        else:
            if not spec.required:
                missing.append(name)
                continue
            raise SystemExit(f"no {name} in {' or '.join(place for place, _ in spec.places)}")
        for module in jobs[name].modules:
            if not hasattr(module, "transaction"):
                raise SystemExit(f"{module.__name__} has no `transaction` to time {name}'s batches by")
    return jobs, missing


def process_cpu(*, children: bool = False) -> float:
    """CPU seconds this process has used (user + system); ``children``: and its forked children that ended."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime
    if children:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu += usage.ru_utime + usage.ru_stime
    return cpu


def backend_cpu() -> float | None:
    """CPU seconds the connection's PostgreSQL backend has used, from ``/proc`` (a server on this machine), else
    ``None``. On a shared, noisy machine CPU per run compares two versions better than wall time."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return _proc_cpu(pid)


def _proc_cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, in clock ticks


class OtherBackends:
    """The CPU of this database's other PostgreSQL backends while a job runs (its forked writers' connections):
    their processes (``postgres: ... <database> ...``) read from ``/proc`` every ``every`` seconds by a thread, each
    backend's last reading kept. A backend's last moment before it ends is lost (the writers keep theirs to the
    end of the run, so a fraction of a second)."""

    def __init__(self, database: str, *, every: float = 0.1) -> None:
        self.database, self.every = f" {database} ", every
        self.seen: dict[int, float] = {}
        self.before: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _pids(self) -> list[int]:
        pids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    title = (entry / "cmdline").read_bytes()
                except OSError:
                    continue
                if title.startswith(b"postgres: ") and self.database.encode() in title:
                    pids.append(int(entry.name))
        return pids

    def _sample(self) -> None:
        for pid in self._pids():
            if (cpu := _proc_cpu(pid)) is not None:
                self.seen[pid] = cpu

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def __enter__(self) -> OtherBackends:
        self._sample()
        self.before = dict(self.seen)  # the benchmark's own backend, and any other there already
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def cpu(self) -> float:
        return sum(cpu for pid, cpu in self.seen.items() if pid not in self.before)


def measure(job: Job, label: str, *, now: dt.datetime, batch: int, writers: int = 1) -> Run:
    """``writers``: the job's (``points_expire --writers``); its forked writers' CPU and their backends' count too,
    but not their queries and transactions, which happen in the children."""
    from django.db import connection

    run = Run(job=job.name, label=label)
    forked = writers > 1
    kwargs = {"writers": writers} if forked else {}
    db_cpu_before = backend_cpu()
    recorder = Recorder(run)
    print(f"  {job.name} ({label}) ...", end="", flush=True)
    with contextlib.ExitStack() as stack:
        stack.enter_context(connection.execute_wrapper(recorder))
        for module in job.modules:
            stack.enter_context(mock.patch.object(module, "transaction", recorder.transaction_proxy()))
        others = stack.enter_context(OtherBackends(connection.settings_dict["NAME"])) if forked else None
        start, cpu_before = time.perf_counter(), process_cpu(children=forked)
        result = job.function(now=now, batch=batch, **kwargs)
        run.wall, run.cpu = time.perf_counter() - start, process_cpu(children=forked) - cpu_before
    db_cpu_after = backend_cpu()
    if db_cpu_before is not None and db_cpu_after is not None:
        run.db_cpu = db_cpu_after - db_cpu_before + (others.cpu if others else 0.0)
    run.result = job.describe_result(result)
    print(f" {run.wall:.1f} s, {run.queries} queries: {run.result}", flush=True)
    return run


def run_jobs(
    jobs: dict[str, Job], *, batch: int, now: dt.datetime, expiry_writers: int = 1, only: set[str] | None = None
) -> list[Run]:
    """The jobs one after the other. ``points_confirm`` (hourly in production) runs last, so that the other two
    run on the same data, in the same order, as before it existed (when the checkout has it). ``expiry_writers``:
    ``points_expire``'s writers; ``only``: run these jobs and skip the others."""
    expire, review = jobs["points_expire"], jobs["tier_review"]
    night, after_grace = now + dt.timedelta(days=1), now + dt.timedelta(days=31)
    runs = []
    if only is None or expire.name in only:
        runs += [
            measure(expire, "first run", now=now, batch=batch, writers=expiry_writers),
            measure(expire, "re-run", now=now, batch=batch, writers=expiry_writers),
            measure(expire, "next night", now=night, batch=batch, writers=expiry_writers),
        ]
    if only is None or review.name in only:
        runs += [
            measure(review, "first run", now=now, batch=batch),
            measure(review, "re-run", now=now, batch=batch),
            measure(review, "after grace", now=after_grace, batch=batch),
        ]
    if (confirm := jobs.get("points_confirm")) and (only is None or confirm.name in only):
        runs += [
            measure(confirm, "first run", now=now, batch=batch),  # the lots due by now: a backlog
            measure(confirm, "re-run", now=now, batch=batch),
            measure(confirm, "next night", now=night, batch=batch),  # a day's lots: more than an hourly run's
        ]
    return runs
