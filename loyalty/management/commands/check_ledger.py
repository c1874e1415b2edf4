"""Prove ``balance == sum(entries)`` for every member and that checkout holds match their entries; exit non-zero
naming what fails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.selectors import hold_mismatches, ledger_mismatches, lot_mismatches


class Command(BaseCommand):
    help = (
        "Verify that every balance equals the sum of its ledger entries and of its open points lots, and that "
        "every checkout redemption's hold and returns match it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = ledger_mismatches()
        lots = lot_mismatches()
        holds = hold_mismatches()
        if not mismatches and not lots and not holds:
            self.stdout.write(
                self.style.SUCCESS(
                    "Ledger OK: every balance equals the sum of its entries and of its open lots, and every "
                    "checkout redemption's entries match it."
                )
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
        for hold in holds:
            self.stderr.write(str(hold))
        if holds and not mismatches and not lots:
            raise CommandError(f"Ledger check failed for {len(holds)} checkout redemption(s).")
        raise CommandError(
            f"Ledger check failed for {len(mismatches) + len(lots)} member(s)"
            + (f" and {len(holds)} checkout redemption(s)." if holds else ".")
        )
