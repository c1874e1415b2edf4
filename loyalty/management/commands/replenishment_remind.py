"""Send the due replenishment reminders now (the job also runs hourly on the Celery beat schedule); safe to run
again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.replenishment import replenishment_remind


class Command(BaseCommand):
    help = "Send the replenishment reminders that are due (each once, however often it runs; also on beat)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = replenishment_remind()
        self.stdout.write(f"replenishment_remind: {result.sent} sent, {result.skipped} skipped")
