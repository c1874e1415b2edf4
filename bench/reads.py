"""Benchmark of the pages people read most, on the large programme that ``lifecycle.py`` builds.

Runs in-process through Django's full request stack (middleware, sessions, templates; settings
``config.settings.dev`` with ``DEBUG`` off) against the database ``lifecycle.py`` left (default
``klubb_bench``: 1,000,000 members, 10,000,000 ledger entries), and times each page ``--requests`` times
after a warm-up: the member's portal overview and activity for the member with the longest history and for
a typical one, the shop API's member lookup, the admin's member list and member page, and the staff
dashboard. It prints p50, p99 and the query count per page: the count must not depend on the member's
history or the size of the tables.

    .venv/bin/python bench/lifecycle.py --members 1000000 --snapshot   # once, or any earlier run
    .venv/bin/python bench/reads.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, database_name, machine

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench"
STAFF_EMAIL = "bench-staff@bench.test"
API_KEY = "klb_benchrd1_reads-benchmark-key-not-secret"
SEARCH = "424242@bench"  # part of one member's email (lifecycle.py names them member<id>@bench.klubb.test)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    return parser.parse_args(argv)


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.dev"
    os.environ["DEBUG"] = "0"
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["CELERY_BROKER_URL"] = "memory://localhost/"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def with_djangos_search(request: Callable[[], object]) -> object:
    """``request`` with the member admin searching as Django's ``ModelAdmin`` does (one OR over the user and member
    tables), to time the old search beside the new one in the same run."""
    from unittest import mock

    from django.contrib import admin

    from members.admin import MemberAdmin

    with mock.patch.object(MemberAdmin, "get_search_results", admin.ModelAdmin.get_search_results):
        return request()


def prepare() -> dict[str, object]:
    """A staff user with an authenticator, a shop with an API key, and the two members to read."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.db import connection

    from loyalty.models import OPERATIONAL_SCOPES, ApiKey, ApiScope, Shop
    from loyalty.shops import api_key_create
    from members.models import Member, User

    staff = User.objects.filter(email=STAFF_EMAIL).first() or User.objects.create_superuser(
        email=STAFF_EMAIL, password="bench-only"
    )
    if not Authenticator.objects.filter(user=staff, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(staff, generate_totp_secret())
    shop, _ = Shop.objects.get_or_create(slug="bench-reads", defaults={"name": "Bench Reads"})
    ApiKey.objects.filter(prefix=API_KEY[:12]).delete()  # one made before keys had scopes would see nobody
    # It reads members who never bought at its shop: members:all.
    api_key_create(shop=shop, name="bench", raw_key=API_KEY, scopes=[*OPERATIONAL_SCOPES, ApiScope.MEMBERS_ALL])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT member_id FROM loyalty_ledgerentry GROUP BY member_id ORDER BY count(*) DESC, member_id LIMIT 1"
        )
        longest = cursor.fetchone()[0]
    typical = Member.objects.order_by("pk").values_list("pk", flat=True)[Member.objects.count() // 2]
    return {
        "staff": staff,
        "longest": Member.objects.select_related("user").get(pk=longest),
        "typical": Member.objects.select_related("user").get(pk=typical),
    }


def measure(name: str, request: Callable[[], object], *, requests: int) -> dict[str, object]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(5):  # warm-up: caches, prepared plans, the template loader
        request()
    timings, queries = [], set()
    for _ in range(requests):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = request()
            timings.append((time.perf_counter() - started) * 1000)
        status = getattr(response, "status_code", 0)
        if status != 200:
            raise SystemExit(f"{name}: HTTP {status}")
        queries.add(len(captured))
    timings.sort()
    return {
        "page": name,
        "p50": statistics.median(timings),
        "p99": timings[min(len(timings) - 1, int(len(timings) * 0.99))],
        "max": timings[-1],
        "queries": "/".join(str(q) for q in sorted(queries)),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    database_name(args.database_url)  # refuses anything but a benchmark's database
    setup_django(args.database_url)
    from django.test import Client
    from django.urls import reverse

    from members.models import Member

    people = prepare()
    env = machine(args.database_url)
    shape = {"members": Member.objects.count()}
    member_client = {}
    for who in ("longest", "typical"):
        client = Client()
        client.force_login(people[who].user)
        member_client[who] = client
    staff = Client()
    staff.force_login(people["staff"])
    api = Client(HTTP_AUTHORIZATION=f"Bearer {API_KEY}")
    longest = people["longest"]
    member_list = reverse("admin:members_member_changelist")
    pages = [
        ("portal overview, longest history", lambda: member_client["longest"].get("/")),
        ("portal overview, a member mid-table", lambda: member_client["typical"].get("/")),
        ("portal activity, longest history", lambda: member_client["longest"].get("/activity/")),
        ("API member lookup", lambda: api.get(f"/api/v1/members/{longest.public_id}/")),
        ("admin member list", lambda: staff.get(reverse("admin:members_member_changelist"))),
        ("admin member page", lambda: staff.get(reverse("admin:members_member_change", args=[longest.pk]))),
        ("admin member search, part of an email", lambda: staff.get(member_list, {"q": SEARCH})),
        (
            "the same search as Django's admin does it (before)",
            lambda: with_djangos_search(lambda: staff.get(member_list, {"q": SEARCH})),
        ),
        ("staff dashboard, counted (last 30 days)", lambda: staff.get(reverse("staff-dashboard") + "?refresh=1")),
        ("staff dashboard, as kept (5 minutes)", lambda: staff.get(reverse("staff-dashboard"))),
        ("admin ledger entries (10M rows)", lambda: staff.get(reverse("admin:loyalty_ledgerentry_changelist"))),
    ]
    results = []
    for name, request in pages:
        print(f"  {name} ...", flush=True)
        slow = "counted" in name or "(before)" in name
        requests = max(10, args.requests // 10) if slow else args.requests
        results.append(measure(name, request, requests=requests))
    entries = {who: people[who].ledger.count() for who in ("longest", "typical")}
    print("\n== Klubb reads benchmark ==")
    for key, value in env.items():
        print(f"{key:>12}: {value}")
    print(f"{'data':>12}: {shape['members']:,} members; the longest history {entries['longest']:,} entries, "
          f"the member mid-table {entries['typical']:,}")  # fmt: skip
    print("\n| page | p50 ms | p99 ms | max ms | queries |\n| --- | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['page']} | {r['p50']:.1f} | {r['p99']:.1f} | {r['max']:.1f} | {r['queries']} |")
    url = "" if args.database_url == DEFAULT_URL else f"DATABASE_URL={args.database_url} "
    print(f"\nReproduce: {url}.venv/bin/python bench/reads.py --requests {args.requests}")


if __name__ == "__main__":
    main()
