"""Import opening balances (members' points and tiers from another programme) from a CSV file; safe to run again."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.bulk import plans_per_execution
from loyalty.models import Shop
from loyalty.openings import (
    BATCH,
    COLUMN_PRESETS,
    BalanceReport,
    BatchRefused,
    HeaderError,
    balance_rows_read,
    balances_import,
    file_digest,
)

SHOWN_REFUSALS = 20
WRITERS = 2  # the machines Klubb is measured on have two cores: one writer's Python while the other's waits on SQL


class Command(BaseCommand):
    help = (
        "Import opening balances from a CSV file (header: email,phone,external_id,points,tier,expires_at; at least "
        "points and one of the identifiers; or --columns smile / loyaltylion for their exports). Idempotent by "
        "--batch-id: the same id and file again resumes or does nothing. Exit status 1 if any line was refused."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="the CSV file to import")
        parser.add_argument("--batch-id", required=True, help="names this import; run it again with the same id")
        parser.add_argument("--columns", choices=sorted(COLUMN_PRESETS), default="klubb", help="the file's columns")
        parser.add_argument("--shop", help="the shop's slug, to find members by its customer ids (external_id)")
        parser.add_argument("--dry-run", action="store_true", help="report what would change; change nothing")
        parser.add_argument("--batch", type=int, default=BATCH, help=f"lines per transaction (default {BATCH})")
        parser.add_argument(
            "--writers", type=int, default=WRITERS,
            help=f"processes writing batches at once, on PostgreSQL (default {WRITERS}; a dry run uses one)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        if options["batch"] < 1:
            raise CommandError("--batch must be at least 1.")
        if options["writers"] < 1:
            raise CommandError("--writers must be at least 1.")
        shop = None
        if options["shop"]:
            shop = Shop.objects.filter(slug=options["shop"]).first()
            if shop is None:
                raise CommandError(f"No shop has the slug {options['shop']!r}.")
        data = path.read_bytes()
        started = time.monotonic()
        try:
            with plans_per_execution():
                report = balances_import(
                    rows=balance_rows_read(
                        io.StringIO(data.decode("utf-8-sig"), newline=""), columns=COLUMN_PRESETS[options["columns"]]
                    ),
                    batch_id=options["batch_id"], digest=file_digest(data), file_name=path.name, shop=shop,
                    dry_run=options["dry_run"], batch=options["batch"], writers=options["writers"],
                )  # fmt: skip
        except UnicodeDecodeError as exc:
            raise CommandError("The file is not UTF-8 text.") from exc
        except (BatchRefused, HeaderError) as error:
            raise CommandError(f"{error.code}: {error.message}") from error
        self._summary(report, seconds=time.monotonic() - started)
        if report.refused:
            raise SystemExit(1)

    def _summary(self, report: BalanceReport, *, seconds: float) -> None:
        if report.finished_before:
            self.stdout.write(f"import_balances: batch {report.batch_id} was imported before; nothing to do")
            return
        self.stdout.write(
            f"import_balances{' (dry run: nothing changed)' if report.dry_run else ''}: {report.lines} lines, "
            f"{report.imported} imported, {report.already} already there, {report.empty} empty, "
            f"{report.members_enrolled} members enrolled, {report.points} points, {report.tiers_set} tiers, "
            f"{len(report.refused)} refused ({seconds:.1f} s)"
        )
        for refusal in report.refused[:SHOWN_REFUSALS]:
            column = f" ({refusal.field})" if refusal.field else ""
            self.stderr.write(f"line {refusal.line}: {refusal.code}{column}: {refusal.message}")
        if len(report.refused) > SHOWN_REFUSALS:
            self.stderr.write(f"... and {len(report.refused) - SHOWN_REFUSALS} more")
