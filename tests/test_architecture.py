"""Rules of the code's shape that no import contract can see (``make lint`` holds the import rules).

Only ``loyalty/ledger/`` writes ledger entries, points lots and balances: a write anywhere else would be a
second path for money, outside the account lock and the batch writer the ledger's tests prove.
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

LEDGER_WRITES = re.compile(
    r"\b(LedgerEntry|PointsLot)\.objects\b.*\.(create|bulk_create|bulk_update|update|get_or_create|update_or_create)\("
    r"|(?<!class )\b(LedgerEntry|PointsLot)\("  # an instance made to be saved
    r"|\.balance\s*[-+]?=(?!=)"  # an account's balance moved by hand
    r"|\bupdate\([^)]*\bbalance\s*="
)
APPS = ("config", "loyalty", "members", "referrals")
LEDGER = Path("loyalty", "ledger")


def ledger_writes(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if LEDGER_WRITES.search(line)]


def test_only_the_ledger_package_writes_entries_lots_and_balances():
    found = []
    for app in APPS:
        for path in sorted((settings.BASE_DIR / app).rglob("*.py")):
            relative = path.relative_to(settings.BASE_DIR)
            if relative.is_relative_to(LEDGER) or "migrations" in relative.parts:
                continue
            found += [f"{relative}: {line}" for line in ledger_writes(path.read_text())]
    assert not found, "write through loyalty.ledger instead:\n" + "\n".join(found)


def test_the_check_sees_each_kind_of_write():
    assert ledger_writes("LedgerEntry.objects.create(member=m, points=5)")
    assert ledger_writes("PointsLot.objects.filter(pk=1).update(remaining=0)")
    assert ledger_writes("objects_insert([PointsLot(member_id=1, points=5)])")
    assert ledger_writes("account.balance += 10")
    assert ledger_writes("PointsAccount.objects.filter(pk=1).update(balance=F('balance') + 5)")
    assert not ledger_writes("if account.balance == 0:")
    assert not ledger_writes("class LedgerEntry(models.Model):")
    assert not ledger_writes("entries: list[LedgerEntry] = []")
    assert not ledger_writes("LedgerEntry.objects.filter(member=m).select_for_update().first()")
