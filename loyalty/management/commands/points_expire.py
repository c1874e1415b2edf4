"""Run the ``points_expire`` scheduled job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.ledger import points_expire


class Command(BaseCommand):
    help = "Run the points_expire job now (idempotent; also on the Celery beat schedule)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = points_expire()
        self.stdout.write(f"points_expire: {result}")
