"""Run the ``birthday_bonuses`` scheduled job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.campaigns.birthdays import birthday_bonuses


class Command(BaseCommand):
    help = "Run the birthday_bonuses job now (idempotent; also on the Celery beat schedule)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = birthday_bonuses()
        self.stdout.write(f"birthday_bonuses: {result}")
