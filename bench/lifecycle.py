"""Benchmark of the nightly points jobs (``points_expire``, ``tier_review``) on a large programme.

Builds a dedicated PostgreSQL database (default ``klubb_bench``; it is dropped and created again), migrates
it, fills it with set-based SQL (members, accounts, ledger entries spread over two years, the points lots
that go with them, four tiers, a programme whose points expire after 12 months), then times each job on
its first run, on an idempotent re-run and on a later night, and prints a table of figures with the
command that reproduces them. See bench/README.md.

    .venv/bin/python bench/lifecycle.py --members 1000000 --entries-per-member 10
    .venv/bin/python bench/lifecycle.py --members 10000            # a quick run, a few seconds

The jobs run as in production: ``DEBUG`` off, Celery with a broker (an in-memory one here, so the tasks
the jobs queue after commit are queued and not run in-process), and email to nowhere.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, database_exists, database_name, database_recreate, git

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench"

# Tables filled by the loader; their secondary indexes and constraints are dropped during the load and
# built again afterwards (primary keys stay: rows go in primary-key order).
LOAD_TABLES = ["members_user", "members_member", "loyalty_pointsaccount", "loyalty_ledgerentry", "loyalty_pointslot"]

# Qualifying points in the 12-month window; chosen so that roughly 60/25/12/3 % of members sit in each tier.
TIERS = [("Bronze", 0), ("Silver", 4000), ("Gold", 8000), ("Platinum", 16000)]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000, help="members to create (default 1,000,000)")
    parser.add_argument(
        "--entries-per-member", type=int, default=10, help="mean ledger entries per member (1 to 2n-1; default 10)"
    )
    parser.add_argument("--batch", type=int, default=None, help="members per job batch (default KLUBB_JOB_BATCH)")
    parser.add_argument("--seed", type=float, default=0.42, help="seed for PostgreSQL's random() (-1 to 1)")
    parser.add_argument(
        "--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL), help=f"default {DEFAULT_URL}"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--reuse", action="store_true", help="do not load: run the jobs on the database as it is")
    source.add_argument(
        "--from-snapshot",
        action="store_true",
        help="copy the database from its snapshot (<db>_seed) instead of loading",
    )
    parser.add_argument("--snapshot", action="store_true", help="after loading, keep a copy as <db>_seed")
    parser.add_argument(
        "--jobs-file",
        type=Path,
        help="benchmark this copy of loyalty/services/jobs.py instead (to compare a proposed change)",
    )
    parser.add_argument("--check", action="store_true", help="run check_ledger after loading and after the jobs")
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/out/lifecycle-*.json)")
    args = parser.parse_args(argv)
    if args.members < 2 or args.entries_per_member < 1:
        parser.error("need at least 2 members and 1 entry per member")
    if not -1 <= args.seed <= 1:
        parser.error("--seed must be between -1 and 1")
    return args


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("DEBUG", "0")  # no query log in memory, as in production
    # A broker, as in production: what the jobs queue after commit is queued, not run in this process.
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    import config.celery  # noqa: F401  (the app with the broker above, before any task is queued)


# --- Database ---------------------------------------------------------------------------------------------


def database_create(url: str, name: str, *, template: str | None = None) -> None:
    """``common.database_recreate``, after closing this process's connections (a template must have none)."""
    from django.db import connections

    connections.close_all()
    database_recreate(url, name, template=template)


# --- Loading ----------------------------------------------------------------------------------------------


class Phases:
    """Wall-clock time of each named phase."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        print(f"  {name} ...", end="", flush=True)
        start = time.perf_counter()
        yield
        self.seconds[name] = time.perf_counter() - start
        print(f" {self.seconds[name]:.1f} s", flush=True)

    @property
    def total(self) -> float:
        return sum(self.seconds.values())


def _secondary_ddl(cursor: Any) -> tuple[list[str], list[str]]:
    """(drop, create) statements for the loaded tables' foreign keys, unique constraints and indexes."""
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), contype FROM pg_constraint
        WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype DESC, conname
        """,
        [LOAD_TABLES],
    )
    constraints = cursor.fetchall()
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid)
        ORDER BY 1
        """,
        [LOAD_TABLES],
    )
    indexes = cursor.fetchall()
    # Drop foreign keys, then unique constraints, then indexes; create them again in the reverse order.
    drop = [f'ALTER TABLE {table} DROP CONSTRAINT "{name}"' for table, name, _, _ in constraints]
    drop += [f"DROP INDEX {name}" for name, _ in indexes]
    create = [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}' for table, name, ddl, kind in constraints if kind == "u"
    ]
    create += [ddl for _, ddl in indexes]
    create += [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {ddl}' for table, name, ddl, kind in constraints if kind == "f"
    ]
    return drop, create


def _column_defaults(cursor: Any, model: Any, table: str, given: dict[str, str]) -> tuple[dict[str, str], list[Any]]:
    """SQL expressions for the NOT NULL columns the loader does not set itself, from the model's defaults
    (Django keeps defaults in Python), so that a column added by a later migration does not break the load."""
    cursor.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'""",
        [table],
    )
    fields = {f.column: f for f in model._meta.concrete_fields}
    extra, params = {}, []
    for (column,) in cursor.fetchall():
        if column in given:
            continue
        if column not in fields or not fields[column].has_default():
            raise SystemExit(f"{table}.{column} is NOT NULL without a default: teach bench/lifecycle.py about it")
        extra[column] = "%s"
        params.append(fields[column].get_default())
    return extra, params


def _existing_columns(cursor: Any, table: str) -> set[str]:
    cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
    return {row[0] for row in cursor.fetchall()}


def load(*, members: int, per_member: int, seed: float, expire_months: int, phases: Phases) -> dt.datetime:
    """Fill the migrated database. Returns the moment the data was generated around ("now")."""
    from django.db import connection

    from loyalty.models import Programme, Tier
    from members.models import Member, User

    anchor = dt.datetime.now(dt.UTC).replace(microsecond=0)
    p = {"n": members, "e": per_member, "anchor": anchor, "months": expire_months}
    with connection.cursor() as cur:
        # Session settings for the load only (the connection is closed afterwards, before the jobs run).
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET temp_buffers = '2GB'")
        cur.execute("SET work_mem = '512MB'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SELECT setseed(%s)", [seed])

        Programme.objects.update_or_create(
            pk=1, defaults={"points_expire_months": expire_months, "tier_window_months": 12, "tier_grace_days": 30}
        )
        for tier_name, threshold in TIERS:
            Tier.objects.create(name=tier_name, threshold=threshold)

        drop, create = _secondary_ddl(cur)
        with phases("drop secondary indexes and constraints"):
            for statement in drop:
                cur.execute(statement)

        with phases("plan members"):
            # Members in enrolment order over four years. Entries per member: 1 to 2e-1, paired so that
            # the total is exactly members * e. Each member has a typical order size and a share of their
            # points they spend on rewards (a third never redeem).
            cur.execute(
                """
                CREATE TEMP TABLE bench_member AS
                WITH pairs AS MATERIALIZED (
                    SELECT p, 1 + floor(random() * (2 * %(e)s - 1))::int AS k1
                    FROM generate_series(1, (%(n)s + 1) / 2) p
                ), m AS (
                    SELECT 2 * p - 1 AS id, CASE WHEN 2 * p > %(n)s THEN %(e)s ELSE k1 END AS k FROM pairs
                    UNION ALL
                    SELECT 2 * p, 2 * %(e)s - k1 FROM pairs WHERE 2 * p <= %(n)s
                )
                SELECT id, k,
                       %(anchor)s - interval '4 years'
                           + (id - random()) / %(n)s * (interval '4 years' - interval '7 days') AS enrolled_at,
                       6.4 + 0.5 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()) AS mu,
                       CASE WHEN random() < 0.33 THEN 0 ELSE 0.3 + 0.6 * random() END AS spend
                FROM m
                """,
                p,
            )
            cur.execute("ALTER TABLE bench_member ADD PRIMARY KEY (id)")

        with phases("users and members"):
            users = {
                "id": "id",
                "password": "'!'",  # an unusable password
                "is_superuser": "false",
                "email": "'member' || id || '@bench.klubb.test'",
                "first_name": "(ARRAY['Kari','Ola','Ingrid','Lars','Sofie','Emil','Nora','Jakob'])[1 + id %% 8]",
                "last_name": "'Bench'",
                "is_staff": "false",
                "is_active": "true",
                "date_joined": "enrolled_at",
            }
            _insert_select(cur, User, "members_user", users, "FROM bench_member ORDER BY id")
            has = _existing_columns(cur, "members_member")
            member_cols = {
                "id": "id",
                "public_id": "gen_random_uuid()",
                "user_id": "id",
                "phone": "CASE WHEN id %% 10 < 3 THEN '+479' || lpad(id::text, 7, '0') ELSE '' END",
                "language": "(ARRAY['nb','nb','nb','nb','en','sv','da'])[1 + (id * 7) %% 7]",
                "birthday": "date '1950-01-01' + floor(random() * 20000)::int",
                "enrolled_at": "enrolled_at",
                "source": "(ARRAY['portal','shopify','woocommerce','api'])[1 + id %% 4]",
                "email_marketing": "random() < 0.4",
                "sms_marketing": "id %% 10 < 3 AND random() < 0.3",
            }
            member_cols.update({"notify_sms": "id %% 10 = 0"} if "notify_sms" in has else {})
            _insert_select(cur, Member, "members_member", member_cols, "FROM bench_member ORDER BY id")

        with phases("plan ledger entries"):
            # Entry times: uniform from enrolment (at most two years back) to now. Kinds: a welcome bonus
            # first for half the members, then orders (earn, counting for tiers), campaign bonuses and reward
            # redemptions. A redemption spends down to ``spend`` of the credits planned before it, in steps
            # of 50 points, so that no balance ever goes below zero; one with nothing to spend is an order.
            cur.execute(
                """
                CREATE TEMP TABLE bench_raw AS
                SELECT m.id AS member_id, m.spend,
                       t0 + (%(anchor)s - t0) * random() AS t,
                       random() AS roll,
                       greatest(1, floor(exp(m.mu + 0.6 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random()))))
                           ::bigint AS p
                FROM bench_member m
                CROSS JOIN LATERAL (SELECT greatest(m.enrolled_at, %(anchor)s - interval '24 months') AS t0) s
                CROSS JOIN LATERAL generate_series(1, m.k)
                """,
                p,
            )
            cur.execute(
                """
                CREATE TEMP TABLE bench_plan AS
                WITH seqd AS (
                    SELECT r.*, row_number() OVER (PARTITION BY member_id ORDER BY t) AS seq FROM bench_raw r
                ), typed AS (
                    SELECT *,
                        CASE WHEN seq = 1 AND roll < 0.5 THEN 'welcome'
                             WHEN seq > 1 AND roll < 0.2 THEN 'redeem'
                             WHEN seq > 1 AND roll < 0.25 THEN 'bonus'
                             ELSE 'earn' END AS plan
                    FROM seqd
                ), planned AS (
                    SELECT *,
                        CASE plan WHEN 'earn' THEN p WHEN 'bonus' THEN 100 WHEN 'welcome' THEN 200 ELSE 0 END AS credit
                    FROM typed
                ), before AS (
                    SELECT *, coalesce(sum(credit) OVER w, 0) AS credit_before
                    FROM planned
                    WINDOW w AS (PARTITION BY member_id ORDER BY seq ROWS UNBOUNDED PRECEDING EXCLUDE CURRENT ROW)
                ), targets AS (
                    SELECT *,
                        CASE WHEN plan = 'redeem' THEN (floor(spend * credit_before / 50) * 50)::bigint
                        END AS spent_after
                    FROM before
                ), debits AS (
                    SELECT *, spent_after - coalesce(max(spent_after) OVER w, 0) AS debit
                    FROM targets
                    WINDOW w AS (PARTITION BY member_id ORDER BY seq ROWS UNBOUNDED PRECEDING EXCLUDE CURRENT ROW)
                ), kinds AS (
                    SELECT member_id, seq, t,
                        CASE WHEN plan = 'redeem' AND debit > 0 THEN 'redeem'
                             WHEN plan IN ('welcome', 'bonus') THEN 'bonus' ELSE 'earn' END AS kind,
                        CASE WHEN plan = 'redeem' AND debit > 0 THEN -debit
                             WHEN plan = 'redeem' THEN p ELSE credit END AS points,
                        CASE plan WHEN 'welcome' THEN 'Welcome bonus' WHEN 'bonus' THEN 'Campaign bonus'
                                  WHEN 'redeem' THEN CASE WHEN debit > 0 THEN 'Reward voucher' ELSE '' END
                                  ELSE '' END AS reason
                    FROM debits
                )
                SELECT row_number() OVER (ORDER BY t, member_id, seq) AS id, member_id, seq, t, kind, points,
                       CASE WHEN kind = 'earn' THEN points ELSE 0 END AS tier_points, reason,
                       sum(points) OVER (PARTITION BY member_id ORDER BY seq) AS balance_after
                FROM kinds
                """
            )
            cur.execute("DROP TABLE bench_raw")

        with phases("ledger entries"):
            # In time order, as they would have been written: one member's entries are spread over the table.
            cur.execute(
                """
                INSERT INTO loyalty_ledgerentry
                    (id, kind, points, balance_after, tier_points, effective_at, created_at, reason, detail, member_id)
                SELECT id, kind, points, balance_after, tier_points, t, t, reason, '{}', member_id
                FROM bench_plan ORDER BY id
                """
            )

        with phases("points lots"):
            # One lot per credit. Spending takes the oldest lots first (FIFO), so a lot's remaining points are
            # what is left of it once the member's total spending is taken from the oldest credits. Expiry has
            # never run: every lot older than the expiry period is still open (the first night after the
            # feature went live, the heaviest night the job will see).
            cur.execute(
                """
                INSERT INTO loyalty_pointslot
                    (id, points, remaining, earned_at, expires_at, warned_at, entry_id, member_id)
                SELECT row_number() OVER (ORDER BY c.id), c.points,
                       greatest(0, least(c.points, c.cumulative - coalesce(d.spent, 0))),
                       c.t, c.t + make_interval(months => %(months)s), NULL, c.id, c.member_id
                FROM (
                    SELECT id, member_id, t, points,
                           sum(points) OVER (PARTITION BY member_id ORDER BY t, id) AS cumulative
                    FROM bench_plan WHERE points > 0
                ) c
                LEFT JOIN (
                    SELECT member_id, -sum(points) AS spent FROM bench_plan WHERE points < 0 GROUP BY member_id
                ) d USING (member_id)
                ORDER BY c.id
                """,
                p,
            )

        with phases("points accounts"):
            # The tier each member holds: the one their qualifying points reached a month ago (orders only ever
            # lift a tier; downgrades wait for the review). So the first review moves some up and finds others
            # below their tier.
            cur.execute(
                """
                INSERT INTO loyalty_pointsaccount
                    (member_id, balance, tier_id, tier_since, below_tier_since, updated_at)
                SELECT a.member_id, a.balance, tier.id,
                       CASE WHEN tier.threshold = 0 THEN m.enrolled_at
                            ELSE greatest(
                                m.enrolled_at, %(anchor)s - make_interval(days => 35 + floor(random() * 300)::int)
                            )
                       END,
                       NULL, a.last_at
                FROM (
                    SELECT member_id, sum(points) AS balance, max(t) AS last_at,
                           coalesce(sum(tier_points) FILTER (
                               WHERE t > %(anchor)s - interval '13 months' AND t <= %(anchor)s - interval '1 month'), 0
                           ) AS qualifying
                    FROM bench_plan GROUP BY member_id
                ) a
                JOIN bench_member m ON m.id = a.member_id
                CROSS JOIN LATERAL (
                    SELECT id, threshold FROM loyalty_tier
                    WHERE threshold <= a.qualifying ORDER BY threshold DESC LIMIT 1
                ) tier
                ORDER BY a.member_id
                """,
                p,
            )
            cur.execute("DROP TABLE bench_plan")
            cur.execute("DROP TABLE bench_member")
            for table in ["members_user", "members_member", "loyalty_ledgerentry", "loyalty_pointslot"]:
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")

        with phases("create indexes and constraints"):
            for statement in create:
                cur.execute(statement)

    connection.close()
    with phases("vacuum analyze"):
        from django.db import connection as fresh

        with fresh.cursor() as cur:
            cur.execute("VACUUM (ANALYZE)")
    return anchor


def _insert_select(cur: Any, model: Any, table: str, columns: dict[str, str], rest: str) -> None:
    extra, params = _column_defaults(cur, model, table, columns)
    columns = {**columns, **extra}
    names = ", ".join(f'"{name}"' for name in columns)
    cur.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join(columns.values())} {rest}", params)


# --- The data's shape -------------------------------------------------------------------------------------


def describe(now: dt.datetime) -> dict[str, Any]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT (SELECT count(*) FROM members_member),
                   (SELECT count(*) FROM loyalty_pointsaccount),
                   (SELECT count(*) FROM loyalty_ledgerentry),
                   (SELECT count(*) FROM loyalty_pointslot),
                   (SELECT count(*) FROM loyalty_pointslot WHERE remaining > 0),
                   (SELECT count(*) FROM loyalty_pointslot WHERE remaining > 0 AND expires_at <= %(now)s),
                   (SELECT count(DISTINCT member_id) FROM loyalty_pointslot
                    WHERE remaining > 0 AND expires_at <= %(now)s),
                   (SELECT count(*) FROM loyalty_ledgerentry WHERE effective_at >= %(now)s - interval '12 months'),
                   (SELECT pg_database_size(current_database()))
            """,
            {"now": now},
        )
        keys = ["members", "accounts", "entries", "lots", "open_lots", "due_lots", "members_with_due_lots"]
        keys += ["entries_in_tier_window", "database_bytes"]
        shape: dict[str, Any] = dict(zip(keys, cur.fetchone(), strict=True))
        cur.execute(
            """SELECT t.name, count(a.member_id)
               FROM loyalty_tier t LEFT JOIN loyalty_pointsaccount a ON a.tier_id = t.id
               GROUP BY t.name, t.threshold ORDER BY t.threshold"""
        )
        shape["accounts_per_tier"] = dict(cur.fetchall())
        cur.execute("SELECT kind, count(*) FROM loyalty_ledgerentry GROUP BY kind ORDER BY 2 DESC")
        shape["entries_per_kind"] = dict(cur.fetchall())
    return shape


def check_ledger() -> str:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    start = time.perf_counter()
    call_command("check_ledger", stdout=out, stderr=out)  # raises CommandError when the ledger is broken
    return f"{out.getvalue().strip()} ({time.perf_counter() - start:.0f} s)"


# --- Measuring the jobs -----------------------------------------------------------------------------------

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


def measure(
    jobs: ModuleType, job: str, label: str, call: Callable[[], Any], describe_result: Callable[[Any], str]
) -> Run:
    from django.db import connection

    run = Run(job=job, label=label)
    recorder = Recorder(run)
    print(f"  {job} ({label}) ...", end="", flush=True)
    with connection.execute_wrapper(recorder), mock.patch.object(jobs, "transaction", recorder.transaction_proxy()):
        start = time.perf_counter()
        result = call()
        run.wall = time.perf_counter() - start
    run.result = describe_result(result)
    print(f" {run.wall:.1f} s, {run.queries} queries: {run.result}", flush=True)
    return run


def run_jobs(jobs: ModuleType, *, batch: int, now: dt.datetime) -> list[Run]:
    def expired(result: Any) -> str:
        return f"{result.members:,} members, {result.points:,} points expired"

    def reviewed(changes: list[Any]) -> str:
        ups = sum(change.up for change in changes)
        return f"{ups:,} up, {len(changes) - ups:,} down"

    night, after_grace = now + dt.timedelta(days=1), now + dt.timedelta(days=31)
    return [
        measure(jobs, "points_expire", "first run", lambda: jobs.points_expire(now=now, batch=batch), expired),
        measure(jobs, "points_expire", "re-run", lambda: jobs.points_expire(now=now, batch=batch), expired),
        measure(jobs, "points_expire", "next night", lambda: jobs.points_expire(now=night, batch=batch), expired),
        measure(jobs, "tier_review", "first run", lambda: jobs.tier_review(now=now, batch=batch), reviewed),
        measure(jobs, "tier_review", "re-run", lambda: jobs.tier_review(now=now, batch=batch), reviewed),
        measure(jobs, "tier_review", "after grace", lambda: jobs.tier_review(now=after_grace, batch=batch), reviewed),
    ]


def load_jobs(path: Path | None) -> ModuleType:
    if path is None:
        from loyalty import ledger as jobs

        return jobs
    spec = importlib.util.spec_from_file_location("bench_jobs_candidate", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is created
    spec.loader.exec_module(module)
    return module


# --- Report -----------------------------------------------------------------------------------------------


def environment(jobs_path: Path) -> dict[str, str]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("SELECT version()")
        version = cur.fetchone()[0].split(" on ")[0]
        cur.execute("SELECT current_setting('shared_buffers'), current_setting('work_mem')")
        shared_buffers, work_mem = cur.fetchone()
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    dirty = (
        git("status", "--porcelain", "--", str(jobs_path.relative_to(ROOT))) if jobs_path.is_relative_to(ROOT) else ""
    )
    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores (nproc), {memory:.0f} GiB RAM, {platform.machine()}",
        "postgresql": f"{version} (shared_buffers {shared_buffers}, work_mem {work_mem})",
        "python": platform.python_version(),
        "commit": git("rev-parse", "--short", "HEAD") + (" + uncommitted changes to jobs.py" if dirty else ""),
        "jobs_file": str(jobs_path),
        "jobs_sha256": hashlib.sha256(jobs_path.read_bytes()).hexdigest()[:12],
    }


def reproduce_command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python", "bench/lifecycle.py", "--members", str(args.members)]
    parts += ["--entries-per-member", str(args.entries_per_member)]
    if args.batch:
        parts += ["--batch", str(args.batch)]
    parts += ["--reuse"] if args.reuse else ["--from-snapshot"] if args.from_snapshot else []
    if args.jobs_file:
        parts += ["--jobs-file", str(args.jobs_file)]
    url = "" if args.database_url == DEFAULT_URL else f"DATABASE_URL={shlex.quote(args.database_url)} "
    return url + shlex.join(parts)


def print_report(
    *, env: dict[str, str], shape: dict[str, Any], phases: Phases | None, runs: list[Run], batch: int, command: str
) -> None:
    print("\n== Klubb nightly jobs benchmark ==")
    for key, value in env.items():
        print(f"{key:>12}: {value}")
    print(
        f"{'data':>12}: {shape['members']:,} members, {shape['entries']:,} ledger entries "
        f"({shape['entries_in_tier_window']:,} in the 12-month tier window), {shape['lots']:,} lots "
        f"({shape['open_lots']:,} open, {shape['due_lots']:,} due now for {shape['members_with_due_lots']:,} members), "
        f"{shape['database_bytes'] / 2**30:.1f} GiB"
    )
    print(f"{'tiers':>12}: " + ", ".join(f"{name} {count:,}" for name, count in shape["accounts_per_tier"].items()))
    if phases:
        detail = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.seconds.items())
        print(f"{'generation':>12}: {phases.total:.0f} s ({detail})")
    print(f"{'batch':>12}: {batch} members per batch transaction\n")
    header = (
        f"{'job':<14} {'run':<12} {'wall s':>8} {'queries':>8} {'batches':>8} {'q/batch':>8} {'db s':>7} "
        f"{'longest txn s':>14} {'median txn s':>13}  result"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.job:<14} {run.label:<12} {run.wall:>8.1f} {run.queries:>8,} {len(run.batches):>8,} "
            f"{run.queries_per_batch:>8} {run.db_seconds:>7.1f} {run.longest_batch:>14.3f} "
            f"{run.median_batch:>13.3f}  {run.result}"
        )
    print("\nWhere the database time went (top statements per run):")
    for run in runs:
        print(f"  {run.job} ({run.label}):")
        for shape_sql, (count, seconds) in sorted(run.shapes.items(), key=lambda item: -item[1][1])[:3]:
            print(f"    {seconds:7.1f} s {count:>7,}x  {shape_sql}")
    print(f"\nReproduce: {command}")


# --- Main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    name = database_name(args.database_url)
    setup_django(args.database_url)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    batch = args.batch or settings.KLUBB_JOB_BATCH
    jobs = load_jobs(args.jobs_file)
    phases: Phases | None = None
    snapshot = f"{name}_seed"
    print(f"Database {name} on {urlparse(args.database_url).hostname}")
    if args.reuse:
        print("  reusing the database as it is (the jobs may have run on it already)")
    elif args.from_snapshot:
        if not database_exists(args.database_url, snapshot):
            raise SystemExit(f"no snapshot {snapshot}: run once with --snapshot")
        phases = Phases()
        with phases(f"copy from {snapshot}"):
            database_create(args.database_url, name, template=snapshot)
        # A snapshot made by older code: bring its schema up to date (new tables, columns, indexes).
        with phases("migrate the copy"):
            call_command("migrate", verbosity=0, interactive=False)
            with connections["default"].cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
    else:
        phases = Phases()
        with phases("create and migrate"):
            database_create(args.database_url, name)
            call_command("migrate", verbosity=0, interactive=False)
        load(members=args.members, per_member=args.entries_per_member, seed=args.seed, expire_months=12, phases=phases)
        if args.snapshot:
            connections.close_all()
            start = time.perf_counter()
            database_create(args.database_url, snapshot, template=name)
            print(f"  snapshot {snapshot} ({time.perf_counter() - start:.0f} s; not counted)")
    connections.close_all()

    now = timezone.now()
    shape = describe(now)
    if args.check:
        print(f"  check_ledger after loading: {check_ledger()}")
    print("Jobs:")
    runs = run_jobs(jobs, batch=batch, now=now)
    if args.check:
        print(f"  check_ledger after the jobs: {check_ledger()}")

    env = environment(Path(jobs.__file__ or ""))
    command = reproduce_command(args)
    print_report(env=env, shape=shape, phases=phases, runs=runs, batch=batch, command=command)

    out = args.json or ROOT / "bench" / "out" / f"lifecycle-{args.members}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    figures = {
        "command": command,
        "environment": env,
        "data": shape,
        "generation_seconds": phases.seconds if phases else None,
        "batch": batch,
        "runs": [
            {**{k: v for k, v in asdict(run).items() if k not in {"batches", "shapes"}},
             "batches": len(run.batches), "longest_batch": run.longest_batch, "median_batch": run.median_batch,
             "queries_per_batch": run.queries_per_batch,
             "top_statements": sorted(([s, c, t] for s, (c, t) in run.shapes.items()), key=lambda r: -r[2])[:8]}
            for run in runs
        ],
    }  # fmt: skip
    out.write_text(json.dumps(figures, indent=2, default=str))
    print(f"Figures: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")


if __name__ == "__main__":
    main()
