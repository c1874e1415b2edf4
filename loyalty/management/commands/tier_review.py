"""Run the ``tier_review`` scheduled job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty import ledger as jobs


class Command(BaseCommand):
    help = "Run the tier_review job now (idempotent; also on the Celery beat schedule)."

    def handle(self, *args: Any, **options: Any) -> None:
        changes = jobs.tier_review()
        ups = sum(change.up for change in changes)
        self.stdout.write(f"tier_review: {ups} moved up, {len(changes) - ups} moved down")
