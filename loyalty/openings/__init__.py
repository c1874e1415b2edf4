"""Opening balances: members' points and tiers brought from another programme (Smile.io, LoyaltyLion, a
spreadsheet), by ``manage.py import_balances`` and the staff upload.

- ``reading``: the file's columns (``COLUMN_PRESETS``: Klubb's names and the other programmes' exports),
  each line as a ``BalanceRow`` or a ``Refusal`` with a stable code (``balance_rows_read``).
- ``importing``: ``balances_import``, idempotent by batch id, resumable, with a dry run; writes through the
  ledger's batch writer and holds imported tiers through the tier rule (``TierRule.hold``).
"""

from __future__ import annotations

from loyalty.openings.importing import BATCH, BalanceReport, BatchRefused, balances_import, file_digest
from loyalty.openings.reading import (
    COLUMN_PRESETS,
    FIELDS,
    BalanceRow,
    HeaderError,
    Refusal,
    balance_rows_read,
)

__all__ = [
    "BATCH",
    "COLUMN_PRESETS",
    "FIELDS",
    "BalanceReport",
    "BalanceRow",
    "BatchRefused",
    "HeaderError",
    "Refusal",
    "balance_rows_read",
    "balances_import",
    "file_digest",
]
