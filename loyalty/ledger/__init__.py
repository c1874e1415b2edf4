"""The ledger: the only writer of ledger entries, points lots and account balances.

- ``accounts``: the points account, opened when a member joins (``account_open``), the lock every writer takes
  (``account_lock``, ``account_lock_by_email``), the tier ladder new accounts start on.
- ``entries``: ``ledger_append``, one entry under the member's lock; lots (``lot_terms``, spending oldest first).
- ``batch``: ``LedgerBatch`` and ``accounts_lock``/``accounts_save``, the same rules for thousands of members
  at once (the scheduled jobs, the import).
- ``operations``: points moved by people: ``points_adjust`` (staff), ``points_redeem``, ``points_bonus``.
- ``expiry``: the nightly expiry and its warning.
- ``checks``: the proofs ``check_ledger`` runs (``ledger_mismatches``, ``lot_mismatches``, ``pending_mismatches``,
  ``hold_mismatches``).
- ``pending``: ``points_confirm``, the job that makes pending points (an order's, in its return window) spendable.

Entries are immutable (the model refuses update and delete; on PostgreSQL a trigger too); a correction is a
new entry. ``balance == sum(entries)`` for every member (``manage.py check_ledger``). Nothing here reports
what it did: the service that called it emits its events.
"""

from __future__ import annotations

from loyalty.ledger.accounts import account_lock, account_lock_by_email, account_open, entry_tier, tiers_by_threshold
from loyalty.ledger.batch import BATCH, LedgerBatch, LotTake, accounts_lock, accounts_save, member_batches
from loyalty.ledger.checks import (
    HoldMismatch,
    LedgerMismatch,
    hold_mismatches,
    ledger_mismatches,
    lot_mismatches,
    pending_mismatches,
)
from loyalty.ledger.entries import ledger_append, lot_terms
from loyalty.ledger.expiry import JobResult, expiry_warn, points_expire
from loyalty.ledger.operations import ADJUST_UNLIMITED_PERMISSION, points_adjust, points_bonus, points_redeem
from loyalty.ledger.pending import ConfirmResult, points_confirm

__all__ = [
    "ADJUST_UNLIMITED_PERMISSION",
    "BATCH",
    "ConfirmResult",
    "HoldMismatch",
    "JobResult",
    "LedgerBatch",
    "LedgerMismatch",
    "LotTake",
    "account_lock",
    "account_lock_by_email",
    "account_open",
    "accounts_lock",
    "accounts_save",
    "entry_tier",
    "expiry_warn",
    "hold_mismatches",
    "ledger_append",
    "ledger_mismatches",
    "lot_mismatches",
    "lot_terms",
    "member_batches",
    "pending_mismatches",
    "points_adjust",
    "points_bonus",
    "points_confirm",
    "points_expire",
    "points_redeem",
    "tiers_by_threshold",
]
