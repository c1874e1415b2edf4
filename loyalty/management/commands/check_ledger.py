"""Prove ``balance == sum(entries)`` for every member; exit non-zero naming the members where it fails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.selectors import ledger_mismatches, lot_mismatches


class Command(BaseCommand):
    help = "Verify that every balance equals the sum of its ledger entries and of its open points lots."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = ledger_mismatches()
        lots = lot_mismatches()
        if not mismatches and not lots:
            self.stdout.write(
                self.style.SUCCESS("Ledger OK: every balance equals the sum of its entries and of its open lots.")
            )
            return
        for row in mismatches:
            self.stderr.write(
                f"member {row.member_id} ({row.email}): balance {row.balance}, entries sum to {row.entries_sum}"
            )
        for row in lots:
            self.stderr.write(
                f"member {row.member_id} ({row.email}): balance {row.balance}, open lots hold {row.entries_sum}"
            )
        raise CommandError(f"Ledger check failed for {len(mismatches) + len(lots)} member(s).")
