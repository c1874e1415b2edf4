"""Run the ``expiry_warn`` scheduled job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.ledger import expiry_warn


class Command(BaseCommand):
    help = "Run the expiry_warn job now (idempotent; also on the Celery beat schedule)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = expiry_warn()
        self.stdout.write(f"expiry_warn: {result}")
