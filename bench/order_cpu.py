"""CPU per order, in-process: ``POST /api/v1/orders/`` against the bare endpoint, for one or two checkouts.

What it measures: each request goes through Django's WSGI handler with ``bench.settings`` (production settings
plus ``bench/urls.py``'s bare endpoint), in one process, one request at a time, with a persistent database
connection, as a gunicorn worker would serve it but without the HTTP server. For each kind of request it
prints the process's CPU per request (user + system, ``getrusage``), the PostgreSQL backend's CPU per request
(read from ``/proc/<backend pid>/stat``, so the server must run on this machine) and the queries per request:

- ``bare``: the bare endpoint (DRF parse, one INSERT, one UPDATE): the least any endpoint of this stack costs;
- ``orders``: orders of ``--members`` known members, one in ten enrolling a new member (like ``api_load.py``);
- ``hot``: orders of one single member.

With ``--tree`` the same runs go through another checkout too (e.g. ``/tmp/before``, a worktree of an older
commit with the same migrations), alternating trees round by round, so that the machine's drift hits both
alike: compare the columns of one run, never figures from another hour. ``--profile`` writes a cProfile
(CPU time) of this tree's orders instead; ``--prepare-threshold N`` serves every tree with psycopg's prepared
statements. The database (``--database-url``, its name must contain ``bench``) is dropped and
prepared again with ``api_load.py``'s seed unless ``--reuse``.

    .venv/bin/python bench/order_cpu.py --tree /tmp/before
    .venv/bin/python bench/order_cpu.py --reuse --profile /tmp/orders.prof
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    cpu_table,
    database_exists,
    database_name,
    database_recreate,
    django,
    rounds_alternate,
    trees_describe,
    worker_figures,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench_orders"
API_KEY = "klb_bench001_load-benchmark-key-not-secret"  # api_load.py's seed creates it
KINDS = ("bare", "orders", "hot")
TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--members", type=int, default=5000, help="known members (default 5,000)")
    parser.add_argument("--requests", type=int, default=400, help="measured requests per kind and round (400)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per tree, alternating trees (default 3)")
    parser.add_argument("--tree", type=Path, help="also measure the Klubb checkout at this path, side by side")
    parser.add_argument("--reuse", action="store_true", help="use the prepared database as it is")
    parser.add_argument("--profile", type=Path, help="write a cProfile of this tree's orders here and stop")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14",
                        help="the broker the served code sees (never api_load.py's db 12)")  # fmt: skip
    parser.add_argument(
        "--prepare-threshold", type=int, metavar="N",
        help="serve every tree with psycopg's server-side binding, preparing a statement from its N-th run\n"
             "(Django's OPTIONS server_side_binding and prepare_threshold)",
    )  # fmt: skip
    parser.add_argument("--worker", nargs=3, metavar=("TREE", "TAG", "PROFILE"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def prepare(url: str, members: int) -> None:
    """A new database with api_load.py's shop, key, tiers, members and the bare endpoint's tables."""
    database_recreate(url, database_name(url))
    print(f"Preparing {database_name(url)}: {members:,} members ...", flush=True)
    django(url, "migrate", "--noinput", "-v", "0")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    subprocess.run([sys.executable, "bench/api_load.py", "--seed-only", str(members)], cwd=ROOT, env=env, check=True)


def order_body(*, order_id: str, email: str) -> bytes:
    """An order like api_load.py's: three items, a random amount."""
    a, b, c = random.randint(99, 1999), random.randint(49, 499), random.randint(19, 299)
    items = [
        {"sku": f"RUN-{a % 50}", "name": "Running shoe", "category": "running", "quantity": 1, "unit_price": f"{a}.00"},
        {"sku": f"SOCK-{b % 20}", "name": "Socks", "category": "running", "quantity": 1, "unit_price": f"{b}.00"},
        {"sku": f"CAP-{c % 10}", "name": "Cap", "category": "outdoor", "quantity": 1, "unit_price": f"{c}.00"},
    ]
    return json.dumps(
        {"order_id": order_id, "member": {"email": email}, "amount": f"{a + b + c}.00", "currency": "NOK",
         "occurred_at": "2026-11-20T14:03:00+01:00", "items": items}
    ).encode()  # fmt: skip


def bodies(kind: str, *, tag: str, count: int, members: int) -> list[tuple[str, bytes]]:
    """``count`` requests of ``kind``: (path, body)."""
    made = []
    for n in range(count):
        order_id = f"{tag}-{kind}-{n}"
        if kind == "hot":
            email = "hot@bench.test"
        elif random.random() < 0.1:
            email = f"new-{order_id}@bench.test"
        else:
            email = f"m{random.randrange(members)}@bench.test"
        path = "/bench/bare/" if kind == "bare" else "/api/v1/orders/"
        made.append((path, order_body(order_id=order_id, email=email)))
    return made


def worker(tree: Path, tag: str, profile: str, args: argparse.Namespace) -> None:
    """Inside the served checkout: run the requests and print one JSON line of figures."""
    import cProfile

    import django as django_module

    sys.path.insert(0, str(tree))
    django_module.setup()
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    if args.prepare_threshold is not None:  # before the first connection
        connection.close()
        connection.settings_dict["OPTIONS"].update(server_side_binding=True, prepare_threshold=args.prepare_threshold)

    app = get_wsgi_application()
    statuses: list[str] = []

    def start_response(status: str, headers: list, exc_info: object = None) -> None:
        statuses.append(status)

    def serve(path: str, body: bytes) -> None:
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "SCRIPT_NAME": "", "QUERY_STRING": "",
            "CONTENT_TYPE": "application/json", "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
            "HTTP_AUTHORIZATION": f"Bearer {API_KEY}", "HTTP_HOST": "127.0.0.1", "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8765", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
            "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr, "wsgi.multithread": True,
            "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0),
        }  # fmt: skip
        response = app(environ, start_response)
        for _chunk in response:
            pass
        response.close()
        if not statuses[-1].startswith(("200", "201")):
            raise SystemExit(f"{path} answered {statuses[-1]}: {b''.join(app(environ, start_response))[:500]!r}")

    queries = [0]

    def count(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        queries[0] += 1
        return execute(sql, params, many, context)

    def backend_cpu_ms() -> float:
        connection.ensure_connection()
        pid = connection.connection.info.backend_pid
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * TICK_MS  # utime, stime

    figures = {}
    for kind in KINDS:
        for path, body in bodies(kind, tag=f"{tag}w", count=30, members=args.members):  # warm-up
            serve(path, body)
        planned = bodies(kind, tag=tag, count=args.requests, members=args.members)
        profiler = cProfile.Profile(time.process_time) if profile != "-" and kind != "bare" else None
        queries[0] = 0
        pg_before = backend_cpu_ms()
        used = resource.getrusage(resource.RUSAGE_SELF)
        with connection.execute_wrapper(count):
            if profiler:
                profiler.enable()
            for path, body in planned:
                serve(path, body)
            if profiler:
                profiler.disable()
        after = resource.getrusage(resource.RUSAGE_SELF)
        pg_ms = backend_cpu_ms() - pg_before
        cpu_ms = (after.ru_utime + after.ru_stime - used.ru_utime - used.ru_stime) * 1000
        figures[kind] = {"cpu_ms": cpu_ms / len(planned), "pg_ms": pg_ms / len(planned),
                         "queries": queries[0] / len(planned)}  # fmt: skip
        if profiler:
            profiler.dump_stats(f"{profile}.{kind}")
    print(json.dumps(figures), flush=True)


def run_tree(tree: Path, args: argparse.Namespace, *, tag: str, profile: str = "-") -> dict[str, dict[str, float]]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": args.database_url,
        "SECRET_KEY": "order-cpu-benchmark-secret-key-not-secret-0123456789",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "CONN_MAX_AGE": "600",
        "CELERY_BROKER_URL": args.redis_url,
        "LOG_LEVEL": "WARNING",
        "KLUBB_BENCH_MEMBERS": str(args.members),
        "API_RATE_LIMIT": "10000000/min",
    }
    command = [sys.executable, str(Path(__file__).resolve()), "--database-url", args.database_url,
               "--members", str(args.members), "--requests", str(args.requests),
               *(["--prepare-threshold", str(args.prepare_threshold)] if args.prepare_threshold is not None else []),
               "--worker", str(tree), tag, profile]  # fmt: skip
    return worker_figures(command, tree=tree, env=env)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.worker:
        worker(Path(args.worker[0]), args.worker[1], args.worker[2], args)
        return
    database_name(args.database_url)
    if not args.reuse or not database_exists(args.database_url, database_name(args.database_url)):
        prepare(args.database_url, args.members)
    run_tag = f"c{int(time.time())}"
    if args.profile:
        figures = run_tree(ROOT, args, tag=f"{run_tag}p", profile=str(args.profile))
        print(json.dumps(figures, indent=1))
        print(f"profiles: {args.profile}.orders, {args.profile}.hot")
        return
    trees = {"new": ROOT} | ({"old": args.tree} if args.tree else {})
    trees_describe(args.database_url, trees)
    load = os.getloadavg()
    results = rounds_alternate(
        trees, args.rounds, lambda name, tree, round_no: run_tree(tree, args, tag=f"{run_tag}{name}{round_no}")
    )
    print(f"\nload average before: {load[0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    print(f"{args.requests} requests per kind and round, {args.rounds} rounds; mean (min-max) per request\n")
    cpu_table(results, KINDS)


if __name__ == "__main__":
    main()
