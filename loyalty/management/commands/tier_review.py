"""Run the ``tier_review`` scheduled job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.tiers import tier_review


class Command(BaseCommand):
    help = "Run the tier_review job now (idempotent; also on the Celery beat schedule)."

    def handle(self, *args: Any, **options: Any) -> None:
        changes = tier_review()
        ups = sum(change.up for change in changes)
        self.stdout.write(f"tier_review: {ups} moved up, {len(changes) - ups} moved down")
