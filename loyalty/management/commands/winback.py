"""Run the win-back job now (it also runs on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.rewards.winback import winback_send


class Command(BaseCommand):
    help = "Give inactive members the active win-back offer's code and message (idempotent; also on beat)."

    def handle(self, *args: Any, **options: Any) -> None:
        result = winback_send()
        self.stdout.write(f"winback: {result.members} member(s) got a code")
