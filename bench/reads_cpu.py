"""CPU per request of the shop's and the widget's reads beside the bare endpoint, in-process, checkouts side by side.

``bench/api_load.py`` measures these under gunicorn and wrk; this measures what one request costs the server
process (and its PostgreSQL backend), which a shared machine's drift moves far less, without binding a port:

1. ``bare``: ``POST /bench/bare/`` (``bench/urls.py``): DRF parsing an order's JSON, one INSERT and one UPDATE;
2. ``preview``: ``POST /api/v1/points/preview/`` with the bodies ``api_load.py``'s wrk sends (a random known
   member, or 1 time in 10 a customer who is not one; random amounts and items);
3. ``summary``: ``GET /embed/v1/<key>/me/``, the storefront widget's member summary, with the member token the
   session endpoint gives for the bench storefront's signed identity, the same member every time as in
   ``api_load.py``;
4. ``badges``: ``POST /embed/v1/<key>/badges/`` for a page of 12 products, for that member.

The database (default ``klubb_bench_reads``; dropped and created again unless ``--reuse``) is seeded by
``api_load.py``'s own seeding: its shop, API key, storefront, tiers and ``--members`` members. Each checkout
(this one, and ``--tree``) runs in its own process with ``bench.settings`` and ``api_load.py``'s server
environment, through Django's test client; the checkouts alternate for ``--rounds`` rounds and each figure is
the median of its rounds. Every request's answer must be 2xx. Process CPU (``getrusage``) and the PostgreSQL
backend's (``/proc``) are counted over ``--requests`` requests after a warm-up; the queries of one request are
counted separately, untimed.

    .venv/bin/python bench/reads_cpu.py --tree /tmp/before
    .venv/bin/python bench/reads_cpu.py --tree /tmp/before --reuse --rounds 3 --requests 2000
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_load import (
    API_KEY,
    BADGES,
    WIDGET_KEY,
    prepare,
    server_environment,
    widget_identity,
)
from common import ROOT, database_exists, database_name, database_recreate, machine, other_tree

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench_reads"
RUNS = ("bare", "preview", "summary", "badges")
WARM_UP = 50


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000, help="timed requests per run (default 1,000)")
    parser.add_argument("--members", type=int, default=20_000, help="known members (default 20,000)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds, each checkout once a round (default 2)")
    parser.add_argument("--tree", type=Path, help="another Klubb checkout to run beside this one, e.g. /tmp/before")
    parser.add_argument("--reuse", action="store_true", help="keep the database a previous run prepared")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # one round of one checkout, in its process
    return parser.parse_args(argv)


# --- One checkout, in its own process ---------------------------------------------------------------------


def preview_body(rng: random.Random, *, members: int, n: int) -> str:
    """An order's body as ``api_load.py``'s wrk script writes it: a tenth of them for a customer not yet a member."""
    email = f"new-reads-{n}@bench.test" if rng.random() < 0.1 else f"m{rng.randint(0, members - 1)}@bench.test"
    a, b, c = rng.randint(99, 1999), rng.randint(49, 499), rng.randint(19, 299)
    items = [
        {"sku": f"RUN-{a % 50}", "name": "Running shoe", "category": "running", "quantity": 1, "unit_price": f"{a}.00"},
        {"sku": f"SOCK-{b % 20}", "name": "Socks", "category": "running", "quantity": 1, "unit_price": f"{b}.00"},
        {"sku": f"CAP-{c % 10}", "name": "Cap", "category": "outdoor", "quantity": 1, "unit_price": f"{c}.00"},
    ]
    return json.dumps({"order_id": f"reads-{n}", "member": {"email": email}, "amount": f"{a + b + c}.00",
                       "currency": "NOK", "occurred_at": "2026-11-20T14:03:00+01:00", "items": items})  # fmt: skip


def backend_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def worker(tree: Path, *, requests: int, members: int) -> dict[str, dict[str, float]]:
    """Inside the checkout's process: each run's CPU and queries per request."""
    sys.path.insert(0, str(tree))
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(SERVER_NAME="127.0.0.1")
    widget = f"/embed/v1/{WIDGET_KEY}/"
    session = client.post(f"{widget}session/", widget_identity(), content_type="application/json")
    token = session.json()["token"]
    rng = random.Random(18)
    bodies = [preview_body(rng, members=members, n=n) for n in range(requests + WARM_UP)]
    api = {"content_type": "application/json", "HTTP_AUTHORIZATION": f"Bearer {API_KEY}"}
    member = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    calls = {
        "bare": lambda n: client.post("/bench/bare/", bodies[n], content_type="application/json"),
        "preview": lambda n: client.post("/api/v1/points/preview/", bodies[n], **api),
        "summary": lambda n: client.get(f"{widget}me/", **member),
        "badges": lambda n: client.post(f"{widget}badges/", BADGES, content_type="application/json", **member),
    }
    results = {}
    for name, call in calls.items():
        for n in range(WARM_UP):
            response = call(n)
            if not 200 <= response.status_code < 300:
                raise SystemExit(f"{name}: HTTP {response.status_code}: {response.content[:500]!r}")
        with CaptureQueriesContext(connection) as captured:
            call(WARM_UP)
        queries = len(captured)  # before the next request forgets them
        backend = connection.cursor().connection.info.backend_pid
        gc.collect()  # not the garbage of start-up or of the run before: the first run would pay for it
        before, backend_before = resource.getrusage(resource.RUSAGE_SELF), backend_cpu_seconds(backend)
        for n in range(WARM_UP, WARM_UP + requests):
            response = call(n)
            if not 200 <= response.status_code < 300:
                raise SystemExit(f"{name}: HTTP {response.status_code}: {response.content[:500]!r}")
        after, backend_after = resource.getrusage(resource.RUSAGE_SELF), backend_cpu_seconds(backend)
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        results[name] = {
            "cpu_ms": 1000 * cpu / requests,
            "postgres_ms": 1000 * (backend_after - backend_before) / requests,
            "queries": queries,
        }
    return results


# --- The comparison -----------------------------------------------------------------------------------------


def round_run(tree: Path, args: argparse.Namespace) -> dict[str, dict[str, float]]:
    env = {**server_environment(args.database_url, members=args.members), "ALLOWED_HOSTS": "127.0.0.1",
           "CELERY_BROKER_URL": "memory://localhost/"}  # fmt: skip
    command = [sys.executable, __file__, "--worker", str(tree), "--requests", str(args.requests),
               "--members", str(args.members), "--database-url", args.database_url]  # fmt: skip
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}{done.stdout[-1000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, requests=args.requests, members=args.members)))
        return
    url = args.database_url
    name = database_name(url)
    if not (args.reuse and database_exists(url, name)):
        database_recreate(url, name)
        print(f"Preparing {name}: {args.members:,} members ...", flush=True)
        prepare(url, args.members)
    trees = {"this": ROOT} | ({"other": args.tree} if args.tree else {})
    rounds: dict[str, list[dict[str, dict[str, float]]]] = {label: [] for label in trees}
    for number in range(args.rounds):
        for label, tree in trees.items():
            print(f"  round {number + 1}: {tree} ...", flush=True)
            rounds[label].append(round_run(tree, args))
    env = machine(url)
    if args.tree:
        env["other"] = other_tree(args.tree) or str(args.tree)
    env["load"] = f"load average {os.getloadavg()[0]:.1f} at the end"
    print("\n== CPU per request, in-process (Django test client, bench.settings) ==")
    for key, value in env.items():
        print(f"{key:>12}: {value}")
    labels = list(trees)
    header = " | ".join(f"{label} CPU ms | {label} PostgreSQL ms | {label} queries" for label in labels)
    print(f"\n| request | {header} | CPU / bare's |")
    print("| --- |" + " ---: |" * (3 * len(labels) + 1))
    medians = {
        label: {run: {key: statistics.median(r[run][key] for r in rounds[label]) for key in rounds[label][0][run]}
                for run in RUNS}
        for label in labels
    }  # fmt: skip
    for run in RUNS:
        cells = " | ".join(
            f"{medians[label][run]['cpu_ms']:.2f} | {medians[label][run]['postgres_ms']:.2f} | "
            f"{medians[label][run]['queries']:.0f}"
            for label in labels
        )
        ratio = " / ".join(
            f"{medians[label][run]['cpu_ms'] / medians[label]['bare']['cpu_ms']:.2f}" for label in labels
        )
        print(f"| {run} | {cells} | {ratio} |")
    samples = {label: {run: [round(r[run]["cpu_ms"], 2) for r in rounds[label]] for run in RUNS} for label in labels}
    print(f"\nEach round's CPU ms: {json.dumps(samples)}")
    reproduce = f".venv/bin/python bench/reads_cpu.py --requests {args.requests} --members {args.members} " \
                f"--rounds {args.rounds}" + (f" --tree {args.tree}" if args.tree else "")  # fmt: skip
    print(f"Reproduce: {reproduce}")


if __name__ == "__main__":
    main()
