"""Make pending points whose return window has passed spendable (what the scheduled job does)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from loyalty.tiers import pending_points_confirm


class Command(BaseCommand):
    help = "Make pending points spendable once their order's return window has passed."

    def handle(self, *args: Any, **options: Any) -> None:
        result = pending_points_confirm()
        self.stdout.write(f"Confirmed {result.points} pending points of {result.members} member(s).")
