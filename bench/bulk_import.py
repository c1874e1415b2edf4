"""Benchmark of ``manage.py import_orders``: a million historical orders, then the same file again.

Builds its own PostgreSQL database (default ``klubb_bench_import``; dropped and created again) with a shop, the
tiers and one campaign rule, writes a JSON-lines file of ``--orders`` orders (3 items each) from ``--members``
customers (none of them members yet: the import enrols them), then times, as separate processes:

1. the import (every order new),
2. the same file again (every order already there: nothing may change),

and runs ``check_ledger`` afterwards. See bench/README.md.

    .venv/bin/python bench/bulk_import.py                          # 1,000,000 orders from 200,000 customers
    .venv/bin/python bench/bulk_import.py --orders 50000 --members 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    ROOT,
    BackendCpu,
    database_name,
    database_prepare,
    django,
    machine,
    other_tree,
    server_tree_option,
)

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench_import"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000, help="orders in the file (default 1,000,000)")
    parser.add_argument("--members", type=int, default=200_000, help="distinct customers (default 200,000)")
    parser.add_argument("--batch", type=int, default=None, help="orders per transaction (default the command's)")
    parser.add_argument("--writers", type=int, default=None, help="the command's --writers (default the command's)")
    server_tree_option(parser, what="import")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    return parser.parse_args(argv)


def write_orders(path: Path, *, orders: int, members: int) -> None:
    """Orders spread over the last two years, oldest first, in whole kroner; a reproducible random sequence."""
    rng = random.Random(42)
    start = time.time() - 2 * 365 * 86400
    step = 2 * 365 * 86400 / orders
    with path.open("w") as out:
        for n in range(orders):
            prices = [rng.randint(49, 1999), rng.randint(19, 499), rng.randint(19, 299)]
            when = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(start + n * step))
            out.write(json.dumps({
                "order_id": f"H-{n}", "member": {"email": f"c{rng.randrange(members)}@bench.test"},
                "amount": f"{sum(prices)}.00", "currency": "NOK", "occurred_at": when,
                "items": [{"sku": f"SKU-{p % 97}", "name": "Item", "category": "running" if p % 2 else "outdoor",
                           "quantity": 1, "unit_price": f"{p}.00"} for p in prices],
            }, separators=(",", ":")) + "\n")  # fmt: skip


SEED = """
import datetime as dt
from decimal import Decimal
from loyalty.models import EarningRule, Programme, RuleKind, Shop, Tier
programme = Programme.load()
programme.points_expire_months = 12
programme.save()
for name, threshold, multiplier in [("Bronze", 0, "1"), ("Silver", 4000, "1.25"), ("Gold", 8000, "1.5")]:
    Tier.objects.create(name=name, threshold=threshold, multiplier=Decimal(multiplier))
Shop.objects.create(name="Bench Sport", slug="bench-sport")
EarningRule.objects.create(name="Double running", kind=RuleKind.MULTIPLIER, multiplier=Decimal("2"),
                           categories="running", starts_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
"""


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = args.database_url
    name = database_name(url)
    database_prepare(url, name, seed=SEED)
    path = ROOT / "bench" / "out" / f"orders-{args.orders}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    write_orders(path, orders=args.orders, members=args.members)
    print(f"  wrote {path.relative_to(ROOT)} ({path.stat().st_size / 2**20:.0f} MiB) in "
          f"{time.monotonic() - started:.0f} s", flush=True)  # fmt: skip
    command = ["import_orders", str(path), "--shop", "bench-sport"]
    if args.batch:
        command += ["--batch", str(args.batch)]
    if args.writers:
        command += ["--writers", str(args.writers)]
    env = machine(url)
    print("  import ...", flush=True)
    with BackendCpu(name) as first_pg:
        first, first_out, first_cpu = django(url, *command, tree=args.server_tree)
    print("  the same file again ...", flush=True)
    with BackendCpu(name) as second_pg:
        second, second_out, second_cpu = django(url, *command, tree=args.server_tree)
    _seconds, ledger, _cpu = django(url, "check_ledger")
    options = ["--orders", str(args.orders), "--members", str(args.members)]
    options += ["--batch", str(args.batch)] if args.batch else []
    options += ["--writers", str(args.writers)] if args.writers else []
    served = other_tree(args.server_tree)
    options += ["--server-tree", str(args.server_tree)] if served else []
    reproduce = shlex.join([".venv/bin/python", "bench/bulk_import.py", *options])
    print("\n== Klubb order history import benchmark ==")
    for key, value in env.items():
        print(f"{key:>12}: {value}")
    if served:
        print(f"{'imported by':>12}: {served}")
    print("\n| run | wall s | command CPU s | PostgreSQL CPU s | orders/s | output |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, seconds, cpu, pg, out in (("import", first, first_cpu, first_pg, first_out),
                                         ("same file again", second, second_cpu, second_pg, second_out)):  # fmt: skip
        print(f"| {label} | {seconds:.1f} | {cpu:.1f} | {pg.seconds:.1f} | {args.orders / seconds:,.0f} | "
              f"{out.splitlines()[0]} |")  # fmt: skip
    print("(command CPU: the command and the writers it forked; PostgreSQL CPU: its backends for this database)")
    print(f"\ncheck_ledger afterwards: {ledger.splitlines()[-1]}")
    print(f"target: 1,000,000 orders in under 120 s; measured {first:.0f} s for {args.orders:,}")
    print(f"\nReproduce: {reproduce}")


if __name__ == "__main__":
    main()
