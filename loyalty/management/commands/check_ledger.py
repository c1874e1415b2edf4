"""Prove ``balance == sum(entries)`` for every member, that lots and pending points match the balance, and that
checkout holds match their entries; exit non-zero naming what fails."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from loyalty.ledger import hold_mismatches, ledger_mismatches, lot_mismatches, pending_mismatches


class Command(BaseCommand):
    help = (
        "Verify that every balance equals the sum of its ledger entries and of its open points lots, that pending "
        "points match their lots, and that every checkout redemption's hold and returns match it."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = []
        for row in ledger_mismatches():
            problems.append(
                f"member {row.member_id} ({row.email}): balance {row.balance}, entries sum to {row.entries_sum}"
            )
        for row in lot_mismatches():
            problems.append(
                f"member {row.member_id} ({row.email}): balance {row.balance}, open lots hold {row.entries_sum}"
            )
        for row in pending_mismatches():
            problems.append(
                f"member {row.member_id} ({row.email}): {row.balance} pending, pending lots hold {row.entries_sum}"
            )
        problems += [str(hold) for hold in hold_mismatches()]
        if not problems:
            self.stdout.write(
                self.style.SUCCESS(
                    "Ledger OK: every balance equals the sum of its entries and of its open lots, pending points "
                    "match their lots, and every checkout redemption's entries match it."
                )
            )
            return
        for problem in problems:
            self.stderr.write(problem)
        raise CommandError(f"Ledger check failed: {len(problems)} problem(s).")
