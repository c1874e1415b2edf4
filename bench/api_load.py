"""Benchmark of the shop API under load: order ingest, one hot member, a bare endpoint and pgbench, side by side.

Builds its own PostgreSQL database (default ``klubb_bench_api``; dropped and created again) with a shop, an
API key, the tiers and ``--members`` known members, serves Klubb under gunicorn with the production
settings (plus one bare endpoint, ``bench/urls.py``), and drives it with wrk from this machine:

1. ``bare``: ``POST /bench/bare/``, DRF parsing the same order JSON, then one INSERT and one UPDATE in a
   transaction: what any endpoint of this stack costs at the least.
2. ``orders``: ``POST /api/v1/orders/`` with realistic orders (3 items; a known member, or a new one 1 time in
   10): authentication, idempotency key, member lookup or enrolment, the ledger entry and balance under a row
   lock, the points lot, the tier, the events' subscribers (the member's message), the tasks queued to Redis
   after commit.
3. ``hot member``: the same orders for one single member: every request waits for the same balance row.
4. ``earning preview``: ``POST /api/v1/points/preview/`` with the same bodies: what each order would earn,
   read-only (skipped when the served tree has no such endpoint).
5. ``checkout reservation``: ``POST /api/v1/redemptions/``, 100 points of a known member (every one starts with
   100,000): the member lookup, the hold's ledger entry spending lots under the row lock, the redemption and its
   code (skipped when the served tree has no such endpoint).
6. ``hot reservation``: the same for one single member.
7. ``widget summary``: ``GET /embed/v1/<key>/me/``, the storefront widget's read of a signed-in member (their
   token from the session endpoint, for a signed identity): balance, tier, progress, pending points, rewards,
   checkout terms and referral link (skipped when the served tree has no storefront widget).
8. ``widget badges``: ``POST /embed/v1/<key>/badges/``, "earn N points" for a page of 12 products for that member.
9. ``pgbench``: TPC-B on its own database of the same server, the same number of clients.

Each prints requests/s, p50 and p99 latency, the server's and PostgreSQL's CPU per request, the busiest gunicorn
worker's CPU (in cores: near 1.0 means its one GIL held the run back while other workers had idle cores, which
happens when it accepted most of wrk's keep-alive connections) and its share of the server's, and the ratios;
``check_ledger`` runs afterwards. Needs wrk
(``apt-get install wrk``), pgbench (PostgreSQL's client tools) and the Redis at 127.0.0.1:6379 (database
12, flushed). See bench/README.md.

    .venv/bin/python bench/api_load.py                      # 20,000 members, 30 s a run, 16 connections
    .venv/bin/python bench/api_load.py --duration 10        # quicker
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, database_name, database_recreate, machine, other_tree, server_tree_option

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench_api"
REDIS_URL = "redis://127.0.0.1:6379/12"
API_KEY = "klb_bench001_load-benchmark-key-not-secret"
PORT = 8765

PREVIEW = "/api/v1/points/preview/"  # takes the orders' bodies: it ignores their order id and date
REDEMPTIONS = "/api/v1/redemptions/"  # takes a reservation's body instead (RESERVE below)
# The storefront widget: the bench shop's storefront (publishable key and secret) and a product page's badges.
WIDGET_KEY = "kpk_bench-storefront-key"
WIDGET_SECRET = "kss_bench-storefront-secret-not-secret"
WIDGET_MEMBER = "m0@bench.test"
BADGES = json.dumps(
    {"items": [{"price": f"{99 + 150 * n}.00", "category": ("running", "outdoor", "")[n % 3], "sku": f"SKU-{n}"}
               for n in range(12)]}
)  # fmt: skip
STARTING_POINTS = 100_000  # every seeded member's balance, so that reservations have points to take
HOT_POINTS = 1_000_000_000  # the hot member's: hundreds of reservations a second for the whole run
WRK_SCRIPT = (Path(__file__).resolve().parent / "api_load.lua").read_text()  # wrk's Lua, after the run's settings


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=20_000, help="known members (default 20,000)")
    parser.add_argument("--duration", type=int, default=30, help="seconds per measured run (default 30)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections/clients (default 16)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker (default 4)")
    parser.add_argument(
        "--gunicorn", default="", metavar="OPTIONS",
        help="more gunicorn options, e.g. '--reuse-port' (each worker its own listening socket)",
    )  # fmt: skip
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    server_tree_option(parser, what="serve")
    parser.add_argument("--json", type=Path, help="also write the figures here (default bench/out/api-*.json)")
    return parser.parse_args(argv)


# --- The database -----------------------------------------------------------------------------------------


def prepare(url: str, members: int) -> None:
    """Migrate a new database and load the shop, its key, the tiers and the known members (bulk inserts)."""
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], env=env)
    run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], env=env)
    run([sys.executable, "bench/api_load.py", "--seed-only", str(members)], env=env)


def seed(members: int) -> None:
    """Inside Django (``--seed-only``): the programme's data, and ``members`` members with accounts."""
    import django

    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from loyalty.models import EntryKind, LedgerEntry, PointsAccount, PointsLot, Shop, Storefront, Tier
    from loyalty.shops import api_key_create
    from members.models import Member, User

    with transaction.atomic():
        bronze = Tier.objects.create(name="Bronze", threshold=0)
        Tier.objects.create(name="Silver", threshold=4000, multiplier="1.25")
        Tier.objects.create(name="Gold", threshold=8000, multiplier="1.50")
        shop = Shop.objects.create(name="Bench Sport", slug="bench-sport")
        api_key_create(shop=shop, name="bench", raw_key=API_KEY)
        Storefront.objects.create(shop=shop, publishable_key=WIDGET_KEY, secret=WIDGET_SECRET)
        emails = ["hot@bench.test"] + [f"m{n}@bench.test" for n in range(members)]
        for start in range(0, len(emails), 5000):
            chunk = emails[start : start + 5000]
            users = User.objects.bulk_create([User(email=email, password="!") for email in chunk])
            made = Member.objects.bulk_create([Member(user=user, language="nb", source="staff") for user in users])
            points = {
                member.pk: HOT_POINTS if user.email.startswith("hot@") else STARTING_POINTS
                for member, user in zip(made, users, strict=True)
            }
            PointsAccount.objects.bulk_create(
                [PointsAccount(member=member, tier=bronze, balance=points[member.pk]) for member in made]
            )
            now = timezone.now()
            entries = LedgerEntry.objects.bulk_create(
                [LedgerEntry(member=member, kind=EntryKind.ADJUST, points=points[member.pk],
                             balance_after=points[member.pk], reason="bench", created_at=now, effective_at=now)
                 for member in made]
            )  # fmt: skip
            PointsLot.objects.bulk_create(
                [PointsLot(member_id=entry.member_id, entry=entry, points=entry.points, remaining=entry.points,
                           earned_at=now) for entry in entries]
            )  # fmt: skip
        with connection.cursor() as cursor:  # the bare endpoint's two tables (bench/urls.py)
            cursor.execute("CREATE TABLE bench_bare_event (id bigserial PRIMARY KEY, payload jsonb NOT NULL)")
            cursor.execute("CREATE TABLE bench_bare_counter (id integer PRIMARY KEY, n bigint NOT NULL)")
            cursor.execute("INSERT INTO bench_bare_counter SELECT g, 0 FROM generate_series(0, %s) g", [members])
            cursor.execute("ANALYZE")


# --- Serving and load -------------------------------------------------------------------------------------


def server_environment(url: str, *, members: int) -> dict[str, str]:
    """The served Klubb's environment: ``bench.settings`` (production plus the bare endpoint) on ``url``, with
    the rate limits out of the way. ``bench/reads_cpu.py`` runs Klubb in-process with the same."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "CONN_MAX_AGE": "600",
        "CELERY_BROKER_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
        "KLUBB_BENCH_MEMBERS": str(members),
        # The per-key rate limit (600/min by default) would answer most of the load with 429s.
        "API_RATE_LIMIT": "10000000/min",
        "EMBED_RATE_LIMIT": "10000000/min",  # the widget's, per client address: wrk is one address
    }


def serve(url: str, args: argparse.Namespace) -> subprocess.Popen:
    env = server_environment(url, members=args.members)
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{PORT}",
         "--workers", str(args.workers), "--worker-class", "gthread", "--threads", str(args.threads),
         "--log-level", "warning", *shlex.split(args.gunicorn)],
        cwd=args.server_tree, env=env, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz/", timeout=1)
            return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("gunicorn did not answer /healthz/ within 30 s")


@dataclass
class Result:
    name: str
    requests_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    requests: int
    errors: int
    server_cpu_ms: float | None = None  # CPU of the gunicorn workers per request
    postgres_cpu_ms: float | None = None  # CPU of the PostgreSQL backends per request
    busiest_worker_cores: float | None = None  # the busiest server process's CPU seconds per second of the run
    busiest_worker_share: float | None = None  # its share of the server's CPU (an even spread: 1 / workers)


def cpu_seconds(server_group: int) -> tuple[dict[int, float], float]:
    """CPU seconds used so far by each of the server's processes (its process group) and by PostgreSQL's, from
    /proc: what a request costs the machine, which a noisy machine's drift moves far less than requests per
    second."""
    server: dict[int, float] = {}
    postgres = 0
    hertz = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # ended meanwhile
        command, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        ticks = int(fields[11]) + int(fields[12])  # utime + stime
        if int(fields[2]) == server_group:
            server[int(entry.name)] = ticks / hertz
        elif command.startswith("postgres"):
            postgres += ticks
    return server, postgres / hertz


def wrk(name: str, *, path: str, hot: bool, args: argparse.Namespace, run_tag: str, duration: int,
        server_group: int | None = None, token: str | None = None, body: str | None = None) -> Result:  # fmt: skip
    """One run. With ``token`` (the storefront widget's), the same request each time: a GET, or a POST of
    ``body``."""
    reserve = path == REDEMPTIONS
    headers = {"Content-Type": "application/json"}
    if path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {API_KEY}"
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    lua_headers = ", ".join(f"[{json.dumps(key)}] = {json.dumps(value)}" for key, value in headers.items())
    fixed = ""
    if token:
        fixed = f'METHOD = "{"POST" if body else "GET"}"\nBODY = {json.dumps(body) if body else "nil"}\n'
    lua = (
        f'RUN = "{run_tag}"\nHOT = {"true" if hot else "false"}\nMEMBERS = {args.members}\n'
        f"RESERVE = {'true' if reserve else 'false'}\n{fixed}"
        f'PATH = "{path}"\nHEADERS = {{{lua_headers}}}\n' + WRK_SCRIPT
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    threads = min(2, args.connections)
    cpu_before = cpu_seconds(server_group) if server_group else None
    out = subprocess.run(
        ["wrk", "--latency", "-t", str(threads), "-c", str(args.connections), "-d", f"{duration}s", "-s", script.name,
         f"http://127.0.0.1:{PORT}{path}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    os.unlink(script.name)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    result = Result(
        name=name,
        requests_per_s=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        p50_ms=_latency(out, "50%"),
        p99_ms=_latency(out, "99%"),
        requests=requests,
        errors=int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
    )
    if cpu_before and server_group and requests:
        server_after, postgres_after = cpu_seconds(server_group)
        used = [seconds - cpu_before[0].get(pid, 0) for pid, seconds in server_after.items()]
        result.server_cpu_ms = 1000 * sum(used) / requests
        result.postgres_cpu_ms = 1000 * (postgres_after - cpu_before[1]) / requests
        # Each gunicorn worker runs Python on one core at a time (its GIL), and keeps the keep-alive connections it
        # accepted: a worker holding most of them is a ceiling the others' idle cores do not lift.
        result.busiest_worker_cores = max(used) / duration
        result.busiest_worker_share = max(used) / sum(used) if sum(used) else None
    return result


def serves(path: str) -> bool:
    """Whether the server has ``path`` (an empty POST is a 400 there, not a 404)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}{path}", data=b"{}", method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {API_KEY}"},
    )  # fmt: skip
    try:
        urllib.request.urlopen(request, timeout=10)
    except urllib.error.HTTPError as error:
        return error.code != 404
    return True


def widget_identity() -> dict[str, object]:
    """``WIDGET_MEMBER``'s identity, signed now with the bench storefront's secret as a shop's theme signs it."""
    timestamp = int(time.time())
    message = f":{WIDGET_MEMBER}:{timestamp}".encode()
    signature = hmac.new(WIDGET_SECRET.encode(), message, hashlib.sha256).hexdigest()
    return {"customer_id": "", "email": WIDGET_MEMBER, "timestamp": timestamp, "signature": signature}


def widget_token() -> str | None:
    """The storefront widget's token for ``WIDGET_MEMBER``, from the session endpoint for its signed identity;
    ``None`` when the served tree has no storefront widget."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{PORT}/embed/v1/{WIDGET_KEY}/session/", data=json.dumps(widget_identity()).encode(),
        method="POST", headers={"Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)["token"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _latency(out: str, percentile: str) -> float | None:
    match = re.search(rf"^\s+{re.escape(percentile)}\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
    if not match:
        return None
    return float(match.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]


def pgbench(url: str, *, clients: int, duration: int) -> Result:
    name = database_name(url) + "_pgbench"
    database_recreate(url, name)
    target = urlunparse(urlparse(url)._replace(path=f"/{name}"))
    run(["pgbench", "-i", "-q", "-s", "16", target], capture_output=True)
    out = subprocess.run(
        ["pgbench", "-c", str(clients), "-j", "2", "-T", str(duration), target],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    transactions = int(re.search(r"number of transactions actually processed: (\d+)", out).group(1))
    return Result(name="pgbench TPC-B", requests_per_s=tps, p50_ms=None, p99_ms=None, requests=transactions, errors=0)


def run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, cwd=ROOT, check=True, **kwargs)  # type: ignore[call-overload]


def check_ledger(url: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "config.settings.dev"}
    done = subprocess.run(
        [sys.executable, "manage.py", "check_ledger"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return ("clean: " if done.returncode == 0 else "BROKEN: ") + done.stdout.strip().splitlines()[-1]


# --- Report -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    if argv is None and len(sys.argv) == 3 and sys.argv[1] == "--seed-only":
        seed(int(sys.argv[2]))
        return
    args = parse_args(argv)
    for tool, package in (("wrk", "wrk"), ("pgbench", "postgresql-client")):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: apt-get install {package}")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    url = args.database_url
    database_recreate(url, database_name(url))
    print(f"Preparing {database_name(url)}: {args.members:,} members ...", flush=True)
    prepare(url, args.members)
    env = machine(url)
    if served := other_tree(args.server_tree):
        env["served"] = served
    server = serve(url, args)
    results: list[Result] = []
    try:
        run_tag = secrets.token_hex(3)
        wrk("warm-up", path="/api/v1/orders/", hot=False, args=args, run_tag=run_tag + "w", duration=5)
        plan = [
            ("bare endpoint", "/bench/bare/", False),
            ("orders", "/api/v1/orders/", False),
            ("hot member", "/api/v1/orders/", True),
        ]
        if serves(PREVIEW):  # an older tree (--server-tree) may not have it
            plan.append(("earning preview", PREVIEW, False))
        if serves(REDEMPTIONS):
            plan += [("checkout reservation", REDEMPTIONS, False), ("hot reservation", REDEMPTIONS, True)]
        for name, path, hot in plan:
            print(f"  {name} ...", flush=True)
            results.append(wrk(name, path=path, hot=hot, args=args, run_tag=f"{run_tag}{len(results)}",
                               duration=args.duration, server_group=server.pid))  # fmt: skip
        if token := widget_token():
            widget = f"/embed/v1/{WIDGET_KEY}/"
            for name, path, body in (
                ("widget summary", f"{widget}me/", None),
                ("widget badges", f"{widget}badges/", BADGES),
            ):
                print(f"  {name} ...", flush=True)
                tag = f"{run_tag}{len(results)}"
                results.append(wrk(name, path=path, hot=False, args=args, run_tag=tag, duration=args.duration,
                                   server_group=server.pid, token=token, body=body))  # fmt: skip
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print("  pgbench ...", flush=True)
    results.append(pgbench(url, clients=args.connections, duration=args.duration))
    ledger = check_ledger(url)
    redis.Redis.from_url(REDIS_URL).flushdb()
    report(env=env, args=args, results=results, ledger=ledger)


def report(*, env: dict[str, str], args: argparse.Namespace, results: list[Result], ledger: str) -> None:
    by_name = {result.name: result for result in results}
    bare, orders, tpcb = by_name["bare endpoint"], by_name["orders"], by_name["pgbench TPC-B"]
    command = shlex.join([".venv/bin/python", "bench/api_load.py", "--members", str(args.members),
                          "--duration", str(args.duration), "--connections", str(args.connections),
                          "--workers", str(args.workers), "--threads", str(args.threads)])  # fmt: skip
    if args.gunicorn:
        command += f" --gunicorn {shlex.quote(args.gunicorn)}"
    if "served" in env:
        command += f" --server-tree {shlex.quote(str(args.server_tree))}"
    print("\n== Klubb shop API load benchmark ==")
    for key, value in env.items():
        print(f"{key:>12}: {value}")
    server = f"gunicorn {args.gunicorn} {args.workers} workers x {args.threads} threads".replace("  ", " ")
    server += ", production settings, Redis broker"
    print(f"{'server':>12}: {server}")
    print(f"{'load':>12}: wrk, {args.connections} connections, {args.duration} s per run, same machine")
    print("\n| run | req/s | p50 ms | p99 ms | server CPU ms/req | PostgreSQL CPU ms/req "
          "| busiest worker: cores, share | requests | non-2xx |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")

    def figure(value: float | None) -> str:
        return f"{value:.1f}" if value is not None else "-"

    def busiest(r: Result) -> str:
        if r.busiest_worker_cores is None or r.busiest_worker_share is None:
            return "-"
        return f"{r.busiest_worker_cores:.2f}, {r.busiest_worker_share:.0%}"

    for r in results:
        print(f"| {r.name} | {r.requests_per_s:,.0f} | {figure(r.p50_ms)} | {figure(r.p99_ms)} | "
              f"{figure(r.server_cpu_ms)} | {figure(r.postgres_cpu_ms)} | {busiest(r)} | {r.requests:,} | "
              f"{r.errors:,} |")  # fmt: skip
    print(f"\norders / bare endpoint: {orders.requests_per_s / bare.requests_per_s:.0%} (target at least 60 %)")
    print(f"orders / pgbench TPC-B tps: {orders.requests_per_s / tpcb.requests_per_s:.0%}")
    print(f"orders p99: {orders.p99_ms:.1f} ms (target under 100 ms)")
    print(f"hot member: {by_name['hot member'].requests_per_s:,.0f} orders/s (target at least 200)")
    print(f"check_ledger afterwards: {ledger}")
    print(f"\nReproduce: {command}")
    path = args.json or ROOT / "bench" / "out" / f"api-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"environment": env, "results": [asdict(r) for r in results], "ledger": ledger,
                                "command": command}, indent=2))  # fmt: skip
    print(f"Figures: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
