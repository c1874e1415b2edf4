"""Prove ``balance == sum(entries)`` for every member; exit non-zero naming the members where it fails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Verify that every member's balance equals the sum of their ledger entries."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = ledger_mismatches()
        if not mismatches:
            self.stdout.write(self.style.SUCCESS("Ledger OK: every balance equals the sum of its entries."))
            return
        for row in mismatches:
            self.stderr.write(
                f"member {row.member_id} ({row.email}): balance {row.balance}, entries sum to {row.entries_sum}"
            )
        raise CommandError(f"Ledger check failed for {len(mismatches)} member(s).")
