"""Benchmark of the scheduled points jobs (``points_expire``, ``tier_review``, ``points_confirm``).

Builds a dedicated PostgreSQL database (default ``klubb_bench``; it is dropped and created again), migrates
it, fills it with set-based SQL (members, accounts, ledger entries spread over two years, the points lots
that go with them, four tiers, a programme whose points expire after 12 months and whose orders' points are
pending for 14 days), then times each job on its first run, on an idempotent re-run and on a later night,
and prints a table of figures with the command that reproduces them. See bench/README.md.

    .venv/bin/python bench/lifecycle.py --members 1000000 --entries-per-member 10
    .venv/bin/python bench/lifecycle.py --members 10000            # a quick run, a few seconds

The jobs run as in production: ``DEBUG`` off, Celery with a broker (an in-memory one here, so the tasks
the jobs queue after commit are queued and not run in-process), and email to nowhere.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, database_exists, database_name, database_recreate, other_tree
from lifecycle_data import Phases, check_ledger, describe, load
from lifecycle_jobs import JOBS, jobs_find, run_jobs
from lifecycle_report import environment, figures_write, print_report

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench"
PENDING_DAYS = 14  # the programme's return window: the orders of the last 14 days have pending points


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1_000_000, help="members to create (default 1,000,000)")
    parser.add_argument(
        "--entries-per-member", type=int, default=10, help="mean ledger entries per member (1 to 2n-1; default 10)"
    )
    parser.add_argument("--batch", type=int, default=None, help="members per job batch (default KLUBB_JOB_BATCH)")
    parser.add_argument(
        "--expiry-writers", type=int, default=1,
        help="processes points_expire writes its batches with (its `writers`; default 1): the go-live backlog's\n"
             "runbook runs it with 2. The cpu columns then add the writers' Python, and db cpu their backends'\n"
             "(sampled from /proc); queries and transactions are the writers' own and not counted",
    )  # fmt: skip
    parser.add_argument(
        "--only", choices=sorted(JOBS), action="append",
        help="run this job and skip the others (repeat for more; default all)",
    )  # fmt: skip
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
        "--tree", type=Path, default=ROOT,
        help="run with the Klubb checkout at this path (e.g. a git worktree of another commit), to compare two\n"
             "versions of the jobs: its migrations, models and jobs; this checkout's loader and measuring",
    )  # fmt: skip
    parser.add_argument("--check", action="store_true", help="run check_ledger after loading and after the jobs")
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/out/lifecycle-*.json)")
    args = parser.parse_args(argv)
    if args.members < 2 or args.entries_per_member < 1:
        parser.error("need at least 2 members and 1 entry per member")
    if not -1 <= args.seed <= 1:
        parser.error("--seed must be between -1 and 1")
    args.tree = args.tree.resolve()
    args.json = args.json.resolve() if args.json else None  # setup_django changes the working directory
    if not (args.tree / "loyalty" / "__init__.py").is_file():
        parser.error(f"--tree {args.tree} is not a Klubb checkout (no loyalty/ package)")
    return args


def setup_django(url: str, *, tree: Path) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    os.environ.setdefault("DEBUG", "0")  # no query log in memory, as in production
    # A broker, as in production: what the jobs queue after commit is queued, not run in this process.
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.dummy.EmailBackend"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # The code of ``tree`` first on the path, and the working directory (Celery's Django fixup puts the working
    # directory first on sys.path while ``config.celery`` is imported).
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    import django

    django.setup()
    import config.celery  # noqa: F401  (the app with the broker above, before any task is queued)
    import loyalty

    if not Path(loyalty.__file__ or "").resolve().is_relative_to(tree):
        raise SystemExit(f"loyalty was imported from {loyalty.__file__}, not from {tree}")


def reproduce_command(args: argparse.Namespace) -> str:
    parts = [".venv/bin/python", "bench/lifecycle.py", "--members", str(args.members)]
    parts += ["--entries-per-member", str(args.entries_per_member)]
    if args.batch:
        parts += ["--batch", str(args.batch)]
    if args.expiry_writers > 1:
        parts += ["--expiry-writers", str(args.expiry_writers)]
    for job in args.only or ():
        parts += ["--only", job]
    parts += ["--reuse"] if args.reuse else ["--from-snapshot"] if args.from_snapshot else []
    if other_tree(args.tree):
        parts += ["--tree", str(args.tree)]
    url = "" if args.database_url == DEFAULT_URL else f"DATABASE_URL={shlex.quote(args.database_url)} "
    return url + shlex.join(parts)


# --- Database ---------------------------------------------------------------------------------------------


def database_create(url: str, name: str, *, template: str | None = None) -> None:
    """``common.database_recreate``, after closing this process's connections (a template must have none)."""
    from django.db import connections

    connections.close_all()
    database_recreate(url, name, template=template)


# --- Main -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    name = database_name(args.database_url)
    setup_django(args.database_url, tree=args.tree)
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections
    from django.utils import timezone

    batch = args.batch or settings.KLUBB_JOB_BATCH
    jobs, skipped = jobs_find()
    for job_name in skipped:
        print(f"{job_name}: not in {args.tree}, skipped")
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
        load(
            members=args.members, per_member=args.entries_per_member, seed=args.seed, expire_months=12,
            pending_days=PENDING_DAYS, phases=phases,
        )  # fmt: skip
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
    runs = run_jobs(
        jobs, batch=batch, now=now, expiry_writers=args.expiry_writers, only=set(args.only) if args.only else None
    )
    if args.check:
        print(f"  check_ledger after the jobs: {check_ledger()}")

    env = environment(args.database_url, jobs=jobs, skipped=skipped, tree=args.tree)
    command = reproduce_command(args)
    print_report(env=env, shape=shape, phases=phases, runs=runs, batch=batch, command=command)
    out = args.json or ROOT / "bench" / "out" / f"lifecycle-{args.members}-{dt.datetime.now():%Y%m%d-%H%M%S}.json"
    figures_write(out, command=command, env=env, shape=shape, phases=phases, runs=runs, batch=batch)


if __name__ == "__main__":
    main()
