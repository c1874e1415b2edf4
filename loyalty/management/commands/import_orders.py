"""Import a shop's order history (CSV or JSON lines) through the earning rules; safe to run again."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.bulk import plans_per_execution
from loyalty.models import Shop
from loyalty.orders import orders_import_file
from loyalty.orders.imports import BATCH

SHOWN_ERRORS = 20
WRITERS = 2  # the machines Klubb is measured on have two cores: one writer's Python while the other's waits on SQL


class Command(BaseCommand):
    help = (
        "Import historical orders for a shop from a CSV file (header: order_id,email,amount,currency,occurred_at"
        "[,tax,first_name,last_name]) or JSON lines (one POST /api/v1/orders/ body a line). Orders already there "
        "are skipped; unknown emails are enrolled. Exit status 1 if any line was refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the file to import")
        parser.add_argument("--shop", required=True, help="the shop's slug")
        parser.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file's extension")
        parser.add_argument("--batch", type=int, default=BATCH, help=f"orders per transaction (default {BATCH})")
        parser.add_argument(
            "--writers", type=int, default=WRITERS,
            help=f"processes writing orders at once, each its own members', on PostgreSQL (default {WRITERS})",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        shop = Shop.objects.filter(slug=options["shop"]).first()
        if shop is None:
            raise CommandError(f"No shop has the slug {options['shop']!r}.")
        path: Path = options["path"]
        fmt = options["format"] or {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(path.suffix.lower())
        if fmt is None:
            raise CommandError("Say --format csv or --format jsonl (the file's extension does not tell).")
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        if options["writers"] < 1:
            raise CommandError("--writers must be at least 1.")
        started = time.monotonic()
        with plans_per_execution():
            report = orders_import_file(
                shop=shop, path=path, format=fmt, batch=options["batch"], writers=options["writers"]
            )
        seconds = time.monotonic() - started
        self.stdout.write(
            f"import_orders: {report.imported} imported, {report.already} already there, "
            f"{report.members_enrolled} members enrolled, {report.points} points, {len(report.errors)} refused "
            f"({seconds:.1f} s)"
        )
        for line, code, message, field in report.errors[:SHOWN_ERRORS]:
            self.stderr.write(f"line {line}: {code}{f' ({field})' if field else ''}: {message}")
        if len(report.errors) > SHOWN_ERRORS:
            self.stderr.write(f"... and {len(report.errors) - SHOWN_ERRORS} more")
        if report.errors:
            raise SystemExit(1)
