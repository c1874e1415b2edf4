"""CPU per message, in-process: queueing messages in a job's batches, and the worker sending them, for one or two
checkouts (issue 18 moved the rendering from the first to the second).

What it measures: a fresh benchmark database (``--database-url``, its name must contain ``bench``) with
``--members`` members (the four languages in turn, email notifications on) and a tier with benefits. Then, per
round and checkout (alternating, so that the machine's drift hits both alike), in a process of that checkout:

- ``queue``: ``messages_queue`` of one kind for every member, in batches of 1,000 members, each in its own
  transaction (as ``tier_review`` and ``expiry_warn`` do): ``tier_up`` (the nightly job's message, with the tier's
  name and benefits read in the member's language) and ``points_earned`` (the order's message);
- ``send``: ``messages_send_due`` of all of them with Django's locmem email backend (the message is built, MIME and
  all, and kept in memory instead of going to a server).

It prints the process's CPU (user + system) and the PostgreSQL backend's CPU (sampled from ``/proc``, so the
server must run on this machine) per message, and queries per message.

    .venv/bin/python bench/message_cpu.py --tree /tmp/msgs-before --members 10000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    BackendCpu,
    Figures,
    cpu_table,
    database_name,
    database_recreate,
    django,
    rounds_alternate,
    trees_describe,
    worker_figures,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench_messages"
BATCH = 1000
KINDS = ("tier_up", "points_earned")
SINCE = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)  # the tier moves' time (their messages' keys)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--members", type=int, default=10_000, help="members, and messages per kind (default 10,000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per checkout (default 2)")
    parser.add_argument("--tree", type=Path, help="another checkout to compare (e.g. /tmp/before)")
    parser.add_argument("--worker", nargs=2, metavar=("TREE", "WHAT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


SEED = """
from django.contrib.auth import get_user_model
from loyalty.models import Tier
from members.models import Member
from members.messaging import message_templates_install
n = {members}
languages = ["en", "nb", "da", "sv"]
users = get_user_model().objects.bulk_create(
    [get_user_model()(email=f"m{{i}}@example.com", first_name=f"Kari{{i}}") for i in range(n)], batch_size=5000
)
Member.objects.bulk_create(
    [Member(user=u, language=languages[i % 4], notify_email=True) for i, u in enumerate(users)], batch_size=5000
)
Tier.objects.create(name_en="Gold", name_nb="Gull", name_da="Guld", name_sv="Guld", threshold=5000,
                    benefits_en="Free shipping\\nEarly sales", benefits_nb="Gratis frakt\\nTidlig salg")
message_templates_install()
"""


def prepare(url: str, members: int) -> None:
    database_recreate(url, database_name(url))
    print(f"Preparing {database_name(url)} with {members:,} members ...", flush=True)
    django(url, "migrate", "--noinput", "-v", "0")
    _wall, output, _cpu = django(url, "shell", "-c", SEED.format(members=members))
    if "Error" in output:
        raise SystemExit(output)


class QueryCount:
    """Counts the statements a connection runs (a debug cursor would keep their SQL and cost CPU of its own)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.count += 1
        return execute(sql, params, many, context)


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_SELF)
    return used.ru_utime + used.ru_stime


def worker(tree: Path, what: str) -> None:
    """In a process of ``tree``: queue one kind for every member, then send them; print the figures as JSON."""
    sys.path.insert(0, str(tree))
    os.chdir(tree)
    import django as django_module

    django_module.setup()
    from django.conf import settings
    from django.core import mail
    from django.db import connection, transaction

    from loyalty.events.subscribers import tier_message
    from loyalty.models import Tier
    from members.messaging import Outgoing, messages_queue, messages_send_due
    from members.models import Member, Message

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    Message.objects.all().delete()
    member_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    tier = Tier.objects.get()
    name = database_name(os.environ["DATABASE_URL"])
    figures: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        # queue
        with connection.execute_wrapper(queries := QueryCount()), BackendCpu(name) as pg:
            started = _cpu()
            for start in range(0, len(member_ids), BATCH):
                batch = member_ids[start : start + BATCH]
                if kind == "tier_up":
                    items = [tier_message(member_id=pk, tier=tier, since=SINCE) for pk in batch]
                else:
                    items = [
                        Outgoing(
                            member_id=pk, key=f"o{pk}",
                            context={"points": 1250, "balance": 3480 + pk, "order": f"A-{pk}", "shop": "Nordlys"},
                        )
                        for pk in batch
                    ]  # fmt: skip
                with transaction.atomic():
                    messages_queue(kind=kind, items=items)
            cpu = _cpu() - started
        count = Message.objects.filter(kind=kind).count()
        figures[f"{kind} queue"] = {"cpu_ms": cpu * 1000 / count, "pg_ms": pg.seconds * 1000 / count,
                                    "queries": queries.count / count, "messages": count}  # fmt: skip
        # send
        with connection.execute_wrapper(queries := QueryCount()), BackendCpu(name) as pg:
            started = _cpu()
            outcomes = messages_send_due(limit=count)
            cpu = _cpu() - started
        sent = outcomes.get("sent", 0)
        if sent != count:
            raise SystemExit(f"{kind}: sent {outcomes}, expected {count}")
        figures[f"{kind} send"] = {"cpu_ms": cpu * 1000 / count, "pg_ms": pg.seconds * 1000 / count,
                                   "queries": queries.count / count, "messages": count}  # fmt: skip
        mail.outbox = []
    print(json.dumps(figures))


def run_tree(tree: Path, args: argparse.Namespace) -> Figures:
    env = {**os.environ, "DATABASE_URL": args.database_url, "DJANGO_SETTINGS_MODULE": "config.settings.dev",
           "DEBUG": "0", "LOG_LEVEL": "WARNING", "CELERY_BROKER_URL": "memory://localhost/"}  # fmt: skip
    command = [sys.executable, str(Path(__file__).resolve()), "--database-url", args.database_url,
               "--worker", str(tree), "run"]  # fmt: skip
    return worker_figures(command, tree=tree, env=env)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1])
        return
    prepare(args.database_url, args.members)
    trees = {"new": ROOT} | ({"old": args.tree.resolve()} if args.tree else {})
    trees_describe(args.database_url, trees)
    started = time.monotonic()
    results = rounds_alternate(trees, args.rounds, lambda _name, tree, _round_no: run_tree(tree, args), digits=3)
    print(f"\n{args.members:,} messages per kind, {args.rounds} rounds ({time.monotonic() - started:.0f} s);"
          " mean (min-max) per message\n")  # fmt: skip
    cpu_table(results, results["new"][0], first="step", cpu="CPU ms", digits=3)
    command = f".venv/bin/python bench/message_cpu.py --members {args.members} --rounds {args.rounds}"
    print(f"\nReproduce: {command}" + (f" --tree {args.tree}" if args.tree else ""))


if __name__ == "__main__":
    main()
