"""The lifecycle benchmark's report: the machine and code it ran on, the table of figures, the JSON file."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from common import ROOT, machine, other_tree
from lifecycle_data import Phases
from lifecycle_jobs import Job, Run


def environment(url: str, *, jobs: dict[str, Job], skipped: list[str], tree: Path) -> dict[str, str]:
    """``common.machine``, the file each job came from (and the jobs the checkout does not have) and, when it is
    another checkout, that tree's commit."""
    env = machine(url)
    shown = []
    for job in jobs.values():
        path = Path(job.module.__file__ or "").resolve()
        where = f"{path.relative_to(tree) if path.is_relative_to(tree) else path}"
        called = job.function.__name__
        shown.append(f"{job.name} {where}" + (f" ({called})" if called != job.name else ""))
    env["jobs"] = ", ".join(shown)
    if skipped:
        env["skipped"] = ", ".join(skipped) + " (not in this checkout)"
    if compared := other_tree(tree):
        env["tree"] = compared
    return env


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
    if "pending_lots" in shape:
        share = shape["members_with_pending"] / max(shape["members"], 1)
        print(
            f"{'pending':>12}: {shape['pending_lots']:,} lots of {shape['members_with_pending']:,} members "
            f"({share:.1%}), {shape['pending_points']:,} points; due now {shape['pending_due_lots']:,} lots of "
            f"{shape['members_with_pending_due']:,} members, {shape['pending_due_points']:,} points"
        )
    if phases:
        detail = ", ".join(f"{name} {seconds:.0f} s" for name, seconds in phases.seconds.items())
        print(f"{'generation':>12}: {phases.total:.0f} s ({detail})")
    print(f"{'batch':>12}: {batch} members per batch transaction\n")
    header = (
        f"{'job':<14} {'run':<12} {'wall s':>8} {'cpu s':>7} {'db cpu s':>8} {'queries':>8} {'batches':>8} "
        f"{'q/batch':>8} {'db s':>7} "
        f"{'longest txn s':>14} {'median txn s':>13}  result"
    )
    print(header)
    print("-" * len(header))
    for run in runs:
        print(
            f"{run.job:<14} {run.label:<12} {run.wall:>8.1f} {run.cpu:>7.1f} "
            f"{'-' if run.db_cpu is None else f'{run.db_cpu:.1f}':>8} {run.queries:>8,} {len(run.batches):>8,} "
            f"{run.queries_per_batch:>8} {run.db_seconds:>7.1f} {run.longest_batch:>14.3f} "
            f"{run.median_batch:>13.3f}  {run.result}"
        )
    print("\nWhere the database time went (top statements per run):")
    for run in runs:
        print(f"  {run.job} ({run.label}):")
        for shape_sql, (count, seconds) in sorted(run.shapes.items(), key=lambda item: -item[1][1])[:3]:
            print(f"    {seconds:7.1f} s {count:>7,}x  {shape_sql}")
    print(f"\nReproduce: {command}")


def figures_write(
    out: Path,
    *,
    command: str,
    env: dict[str, str],
    shape: dict[str, Any],
    phases: Phases | None,
    runs: list[Run],
    batch: int,
) -> None:
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
