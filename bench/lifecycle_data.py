"""The lifecycle benchmark's data: a large programme generated with set-based SQL, its shape, and its check.

``load`` fills a migrated database (members, accounts, ledger entries spread over two years, the points
lots that go with them, four tiers, a programme whose points expire after 12 months and whose orders' points
are pending for 14 days) with ``INSERT ... SELECT`` over ``generate_series`` and window functions, with the
tables' secondary indexes and constraints dropped during the load. ``describe`` counts what is there;
``check_ledger`` proves the ledger's invariants. Everything here runs after ``django.setup()``
(bench/lifecycle.py does that), hence the imports inside the functions.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import time
from collections.abc import Iterable, Iterator
from io import StringIO
from typing import Any

# Tables filled by the loader; their secondary indexes and constraints are dropped during the load and
# built again afterwards (primary keys stay: rows go in primary-key order).
LOAD_TABLES = ["members_user", "members_member", "loyalty_pointsaccount", "loyalty_ledgerentry", "loyalty_pointslot"]

# Qualifying points in the 12-month window; chosen so that roughly 60/25/12/3 % of members sit in each tier.
TIERS = [("Bronze", 0), ("Silver", 4000), ("Gold", 8000), ("Platinum", 16000)]

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


def _column_defaults(cursor: Any, model: Any, table: str, given: Iterable[str]) -> dict[str, Any]:
    """Values for the NOT NULL columns the loader does not set itself, from the model's defaults (Django keeps
    defaults in Python), so that a column added by a later migration does not break the load."""
    cursor.execute(
        """SELECT column_name FROM information_schema.columns
           WHERE table_name = %s AND is_nullable = 'NO' AND column_default IS NULL AND is_identity = 'NO'""",
        [table],
    )
    fields = {f.column: f for f in model._meta.concrete_fields}
    given = set(given)
    defaults = {}
    for (column,) in cursor.fetchall():
        if column in given:
            continue
        if column not in fields or not fields[column].has_default():
            raise SystemExit(f"{table}.{column} is NOT NULL without a default: teach bench/lifecycle_data.py about it")
        defaults[column] = fields[column].get_default()
    return defaults


def _named_defaults(
    cursor: Any, model: Any, table: str, given: Iterable[str], params: dict[str, Any]
) -> tuple[str, str]:
    """``_column_defaults`` for a statement with named parameters: adds the values to ``params`` and returns
    what to append to its column list and to its ``SELECT`` list (``', "col"'`` and ``', %(default_col)s'``)."""
    defaults = _column_defaults(cursor, model, table, given)
    params.update({f"default_{column}": value for column, value in defaults.items()})
    return "".join(f', "{c}"' for c in defaults), "".join(f", %(default_{c})s" for c in defaults)


def _existing_columns(cursor: Any, table: str) -> set[str]:
    cursor.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table])
    return {row[0] for row in cursor.fetchall()}


def load(
    *, members: int, per_member: int, seed: float, expire_months: int, pending_days: int, phases: Phases
) -> dt.datetime:
    """Fill the migrated database. Returns the moment the data was generated around ("now").

    ``pending_days``: the orders (``earn`` entries) of the last that many days have their lots pending (on a
    schema that has pending points, i.e. ``loyalty_pointslot.available_at``; an older ``--tree`` has none)."""
    from django.db import connection

    from loyalty.models import PointsAccount, PointsLot, Programme, Tier
    from members.models import Member, User

    anchor = dt.datetime.now(dt.UTC).replace(microsecond=0)
    with connection.cursor() as cur:
        pending_days = pending_days if "available_at" in _existing_columns(cur, "loyalty_pointslot") else 0
    p = {"n": members, "e": per_member, "anchor": anchor, "months": expire_months, "pending_days": pending_days}
    with connection.cursor() as cur:
        # Session settings for the load only (the connection is closed afterwards, before the jobs run).
        cur.execute("SET synchronous_commit = off")
        cur.execute("SET temp_buffers = '2GB'")
        cur.execute("SET work_mem = '512MB'")
        cur.execute("SET maintenance_work_mem = '1GB'")
        cur.execute("SELECT setseed(%s)", [seed])

        programme = {"points_expire_months": expire_months, "tier_window_months": 12, "tier_grace_days": 30}
        programme.update({"pending_days": pending_days} if pending_days else {})
        Programme.objects.update_or_create(pk=1, defaults=programme)
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
            # Pending points: the lots of the orders of the last ``pending_days`` are pending, each until a moment
            # spread evenly over the ``pending_days`` after its order (a hash of the entry id, not random(), so
            # the rest of the data stays as it was), so that about half of them are due when the confirmation
            # job first runs (a backlog, as the expiry's) and the rest over the following days. Spending here
            # is FIFO over all lots, so a recent lot a redemption reached holds less than it earned, as if a
            # refund in the return window had taken some (the newest lots are spent last, so few are).
            lot_columns, lot_values = "", ""
            if pending_days:
                lot_columns = ", available_at"
                lot_values = """,
                       CASE WHEN c.kind = 'earn' AND c.t > %(anchor)s - make_interval(days => %(pending_days)s)
                            THEN c.t + make_interval(days => %(pending_days)s)
                                 * (((c.id * 2654435761) %% 4294967296)::float8 / 4294967296) END"""
            given = ["id", "points", "remaining", "earned_at", "expires_at", "warned_at", "entry_id", "member_id"]
            names, values = _named_defaults(cur, PointsLot, "loyalty_pointslot", [*given, "available_at"], p)
            cur.execute(
                f"""
                INSERT INTO loyalty_pointslot
                    (id, points, remaining, earned_at, expires_at, warned_at, entry_id, member_id{lot_columns}{names})
                SELECT row_number() OVER (ORDER BY c.id), c.points,
                       greatest(0, least(c.points, c.cumulative - coalesce(d.spent, 0))),
                       c.t, c.t + make_interval(months => %(months)s), NULL, c.id, c.member_id{lot_values}{values}
                FROM (
                    SELECT id, member_id, t, points, kind,
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
            # below their tier. Planned in a temporary table first, so that random() sees the rows as it always
            # did, then written once in member order with ``pending``: what the member's pending lots hold.
            cur.execute(
                """
                CREATE TEMP TABLE bench_account AS
                SELECT a.member_id, a.balance, tier.id AS tier_id,
                       CASE WHEN tier.threshold = 0 THEN m.enrolled_at
                            ELSE greatest(
                                m.enrolled_at, %(anchor)s - make_interval(days => 35 + floor(random() * 300)::int)
                            )
                       END AS tier_since,
                       a.last_at
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
            pending_column, pending_value, pending_join = "", "", ""
            if pending_days:
                pending_column, pending_value = ", pending", ", coalesce(pl.pending, 0)"
                pending_join = """LEFT JOIN (
                    SELECT member_id, sum(remaining) AS pending FROM loyalty_pointslot
                    WHERE available_at IS NOT NULL GROUP BY member_id
                ) pl USING (member_id)"""
            given = ["member_id", "balance", "tier_id", "tier_since", "below_tier_since", "updated_at"]
            given += ["pending"] if pending_days else []
            names, values = _named_defaults(cur, PointsAccount, "loyalty_pointsaccount", given, p)
            cur.execute(
                f"""
                INSERT INTO loyalty_pointsaccount
                    (member_id, balance, tier_id, tier_since, below_tier_since, updated_at{pending_column}{names})
                SELECT b.member_id, b.balance, b.tier_id, b.tier_since, NULL, b.last_at{pending_value}{values}
                FROM bench_account b
                {pending_join}
                ORDER BY b.member_id
                """,
                p,
            )
            for table in ["bench_account", "bench_plan", "bench_member"]:
                cur.execute(f"DROP TABLE {table}")
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
    defaults = _column_defaults(cur, model, table, columns)
    columns = {**columns, **dict.fromkeys(defaults, "%s")}
    names = ", ".join(f'"{name}"' for name in columns)
    cur.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join(columns.values())} {rest}", list(defaults.values()))


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
        if "available_at" in _existing_columns(cur, "loyalty_pointslot"):  # a schema with pending points
            cur.execute(
                """
                SELECT count(*), count(DISTINCT member_id), coalesce(sum(remaining), 0),
                       count(*) FILTER (WHERE available_at <= %(now)s),
                       count(DISTINCT member_id) FILTER (WHERE available_at <= %(now)s),
                       coalesce(sum(remaining) FILTER (WHERE available_at <= %(now)s), 0)
                FROM loyalty_pointslot WHERE available_at IS NOT NULL
                """,
                {"now": now},
            )
            keys = ["pending_lots", "members_with_pending", "pending_points"]
            keys += ["pending_due_lots", "members_with_pending_due", "pending_due_points"]
            shape.update(zip(keys, cur.fetchone(), strict=True))
    return shape


def check_ledger() -> str:
    from django.core.management import call_command

    out = StringIO()
    start = time.perf_counter()
    call_command("check_ledger", stdout=out, stderr=out)  # raises CommandError when the ledger is broken
    return f"{out.getvalue().strip()} ({time.perf_counter() - start:.0f} s)"
