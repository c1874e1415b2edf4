"""Run the ``points_expire`` scheduled job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loyalty.ledger import points_expire


class Command(BaseCommand):
    help = "Run the points_expire job now (idempotent; also on the Celery beat schedule)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--writers", type=int, default=1,
            help="processes expiring batches at once, on PostgreSQL (default 1; 2 for the backlog of the first "
                 "night after go-live)",
        )  # fmt: skip

    def handle(self, *args: Any, **options: Any) -> None:
        if options["writers"] < 1:
            raise CommandError("--writers must be at least 1.")
        result = points_expire(writers=options["writers"])
        self.stdout.write(f"points_expire: {result}")
