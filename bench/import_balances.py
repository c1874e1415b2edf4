"""Benchmark of ``manage.py import_balances``: 200,000 opening balances from another programme, then again.

Builds its own PostgreSQL database (default ``klubb_bench_balances``; dropped and created again) with the tiers,
writes a CSV file of ``--members`` balances (email, points, a tier on every fifth line, an expiry date on every
third) for customers who are not members yet (the import enrols them), then times, as separate processes:

1. a dry run (everything done and rolled back),
2. the import,
3. the same file and batch id again (nothing may change),

and runs ``check_ledger`` afterwards. See bench/README.md.

    .venv/bin/python bench/import_balances.py                       # 200,000 balances
    .venv/bin/python bench/import_balances.py --members 20000
"""

from __future__ import annotations

import argparse
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

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/klubb_bench_balances"

SEED = """
from decimal import Decimal
from loyalty.models import Programme, Tier
programme = Programme.load()
programme.points_expire_months = 12
programme.save()
for name, threshold, multiplier in [("Bronze", 0, "1"), ("Silver", 4000, "1.25"), ("Gold", 8000, "1.5")]:
    Tier.objects.create(name=name, threshold=threshold, multiplier=Decimal(multiplier))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=200_000, help="balances in the file (default 200,000)")
    parser.add_argument("--batch", type=int, default=None, help="lines per transaction (default the command's)")
    parser.add_argument("--writers", type=int, default=None, help="writer processes (default the command's)")
    server_tree_option(parser, what="import")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    return parser.parse_args(argv)


def write_balances(path: Path, *, members: int) -> None:
    """A reproducible file: points up to 20,000, every fifth line a tier, every third an expiry date."""
    rng = random.Random(17)
    tiers = ["Bronze", "Silver", "Gold"]
    with path.open("w") as out:
        out.write("email,points,tier,expires_at\n")
        for n in range(members):
            tier = tiers[rng.randrange(3)] if n % 5 == 0 else ""
            expiry = f"2028-{1 + n % 12:02d}-{1 + n % 28:02d}" if n % 3 == 0 else ""
            out.write(f"c{n}@bench.test,{rng.randint(1, 20000)},{tier},{expiry}\n")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = args.database_url
    name = database_name(url)
    database_prepare(url, name, seed=SEED)
    path = ROOT / "bench" / "out" / f"balances-{args.members}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_balances(path, members=args.members)
    command = ["import_balances", str(path), "--batch-id", "bench"]
    if args.batch:
        command += ["--batch", str(args.batch)]
    if args.writers:
        command += ["--writers", str(args.writers)]
    env = machine(url)
    runs = []
    for label, extra in (("dry run", ["--dry-run"]), ("import", []), ("same file and batch id again", [])):
        print(f"  {label} ...", flush=True)
        with BackendCpu(name) as pg:
            runs.append((label, *django(url, *command, *extra, tree=args.server_tree), pg))
    _seconds, ledger, _cpu = django(url, "check_ledger")
    options = ["--members", str(args.members)] + (["--batch", str(args.batch)] if args.batch else [])
    options += ["--writers", str(args.writers)] if args.writers else []
    served = other_tree(args.server_tree)
    options += ["--server-tree", str(args.server_tree)] if served else []
    print("\n== Klubb opening balance import benchmark ==")
    for key, value in env.items():
        print(f"{key:>12}: {value}")
    if served:
        print(f"{'imported by':>12}: {served}")
    print("\n| run | wall s | command CPU s | PostgreSQL CPU s | lines/s | output |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, seconds, output, cpu, pg in runs:
        print(f"| {label} | {seconds:.1f} | {cpu:.1f} | {pg.seconds:.1f} | {args.members / seconds:,.0f} | "
              f"{output.splitlines()[0]} |")  # fmt: skip
    print("(command CPU: the command and the writers it forked; PostgreSQL CPU: its backends for this database)")
    print(f"\ncheck_ledger afterwards: {ledger.splitlines()[-1]}")
    print(f"target: 200,000 balances in under 60 s; measured {runs[1][1]:.0f} s for {args.members:,}")
    print(f"\nReproduce: {shlex.join(['.venv/bin/python', 'bench/import_balances.py', *options])}")


if __name__ == "__main__":
    started = time.monotonic()
    main()
    print(f"(whole benchmark {time.monotonic() - started:.0f} s)")
