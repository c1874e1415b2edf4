"""The ledger's batch writer: many members' entries, lots and balances at once (the scheduled jobs, the import).

The same rules as ``ledger_append``, for thousands of members per transaction with a constant number of
statements: lock the batch's accounts in member order (``accounts_lock``), add each entry to a ``LedgerBatch``
(which moves the account's balance in memory at once, so the caller knows every ``balance_after``), then
``write()`` the entries, the lots credits open, the lots debits take from and the balances.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from config.bulk import many_values, objects_insert, tuples_insert
from loyalty.ledger.accounts import entry_tier
from loyalty.ledger.entries import lot_terms
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, PointsLot, Programme, Tier

BATCH = settings.KLUBB_JOB_BATCH
# The columns of the entries ``LedgerBatch.add_row`` keeps as rows, and of the lots ``insert`` opens, in order.
ENTRY_COLUMNS = ("member_id", "kind", "points", "balance_after", "tier_points", "effective_at", "created_at", "reason",
                 "detail", "order_id")  # fmt: skip
_ENTRY_ORDER = ENTRY_COLUMNS.index("order_id")
LOT_COLUMNS = ("member_id", "entry_id", "points", "remaining", "earned_at", "expires_at")


def member_batches(queryset: QuerySet[Any], *, batch: int = BATCH) -> Iterator[list[int]]:
    """The distinct member ids of ``queryset`` (which has ``member_id``), ascending, in batches.

    Read once, with one index scan, and then cut: paging with ``member_id > last`` would walk the index
    again for every batch. The ids are a snapshot; each batch re-reads its rows under lock.
    """
    ids = list(queryset.order_by("member_id").values_list("member_id", flat=True).distinct())
    for start in range(0, len(ids), batch):
        yield ids[start : start + batch]


def accounts_lock(*, member_ids: Sequence[int], create: bool = False) -> dict[int, PointsAccount]:
    """Many members' accounts (with their tier), locked in member order as every writer locks them: a batch
    job's. ``create``: first make the missing ones, at the entry tier (members who never earned have none)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("accounts_lock() must run inside transaction.atomic().")
    if create:
        _accounts_create(member_ids=member_ids)
    # The tiers once, not joined per account: a join builds a Tier model for every account (thousands a batch).
    tiers = {tier.pk: tier for tier in Tier.objects.all()}
    locked = PointsAccount.objects.select_for_update().filter(member_id__in=many_values(member_ids, sql_type="bigint"))
    locked = locked.order_by("member_id")
    accounts = {}
    for account in locked:
        if account.tier_id is not None:
            account.tier = tiers[account.tier_id]
        accounts[account.member_id] = account
    return accounts


def _accounts_create(*, member_ids: Sequence[int]) -> None:
    """Open the accounts the members lack, at the entry tier; one there already (or made meanwhile by an order for
    the same member) stands."""
    tier, now = entry_tier(), timezone.now()
    if connection.vendor != "postgresql":
        have = set(PointsAccount.objects.filter(member_id__in=member_ids).values_list("member_id", flat=True))
        PointsAccount.objects.bulk_create(
            [PointsAccount(member_id=member_id, tier=tier, tier_since=now) for member_id in member_ids
             if member_id not in have],
            ignore_conflicts=True,
        )  # fmt: skip
        return
    with connection.cursor() as cursor:  # one statement, no model per row (an import opens thousands)
        cursor.execute(
            "INSERT INTO loyalty_pointsaccount (member_id, balance, pending, tier_id, tier_since, updated_at) "
            "SELECT m, 0, 0, %s, %s, %s FROM unnest(%s::bigint[]) AS m ON CONFLICT (member_id) DO NOTHING",
            [tier.pk if tier else None, now, now, list(member_ids)],
        )


# Account fields a batch writes, and their PostgreSQL types (for the VALUES list of ``accounts_save``).
_ACCOUNT_COLUMN_TYPES = {"balance": "bigint", "pending": "bigint", "tier": "bigint", "tier_since": "timestamptz",
                         "below_tier_since": "timestamptz", "tier_held_until": "timestamptz"}  # fmt: skip


def accounts_save(accounts: Sequence[PointsAccount], *, fields: Sequence[str]) -> None:
    """Write ``fields`` of many locked accounts. On PostgreSQL one ``UPDATE ... FROM (VALUES ...)``:
    ``bulk_update`` builds and resolves a ``CASE`` per row and field, slow for thousands."""
    if not accounts:
        return
    if connection.vendor != "postgresql":
        PointsAccount.objects.bulk_update(accounts, fields)
        return
    columns = [PointsAccount._meta.get_field(name).column for name in fields]
    # One array per column: a handful of parameters, however many accounts (a VALUES list of thousands of rows
    # costs more to build and parse than to run).
    arrays = ", ".join(["%s::bigint[]", *(f"%s::{_ACCOUNT_COLUMN_TYPES[name]}[]" for name in fields)])
    params = [[a.member_id for a in accounts], *([getattr(a, c) for a in accounts] for c in columns)]
    assignments = ", ".join(f"{c} = v.{c}" for c in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE loyalty_pointsaccount AS a SET {assignments}, updated_at = %s "
            f"FROM unnest({arrays}) AS v(member_id, {', '.join(columns)}) WHERE a.member_id = v.member_id",
            [timezone.now(), *params],
        )


def _lots_take(*, takes: Sequence[LotTake], expired: Sequence[LotTake]) -> None:
    """Take the debits' points from their lots, and count the ``expired`` ones as the lots' breakage.

    One statement for every lot of the batch, the arithmetic in SQL: on PostgreSQL an ``UPDATE ... FROM
    unnest(...)`` (the backlog of a first expiry night is millions of lots), elsewhere ``bulk_update``.
    """
    taken: dict[int, list[int]] = {}  # lot id -> [points taken, of which expired]
    for take in takes:
        taken.setdefault(take.lot_id, [0, 0])[0] += take.points
    for take in expired:
        taken[take.lot_id][1] += take.points
    if not taken:
        return
    if connection.vendor != "postgresql":
        PointsLot.objects.bulk_update(
            [PointsLot(pk=pk, remaining=F("remaining") - points, expired=F("expired") + lost)
             for pk, (points, lost) in taken.items()],
            ["remaining", "expired"],
        )  # fmt: skip
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE loyalty_pointslot AS l SET remaining = l.remaining - v.points, expired = l.expired + v.lost "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[]) AS v(id, points, lost) WHERE l.id = v.id",
            [list(taken), [t[0] for t in taken.values()], [t[1] for t in taken.values()]],
        )


@dataclass(frozen=True)
class LotTake:
    """Points a debit takes from one lot (by id), which the caller read under the account's lock: at most
    what the lot had left then."""

    lot_id: int
    points: int


@dataclass
class LedgerBatch:
    """Entries for many locked accounts, appended in memory and written together by ``write``.

    ``add`` moves the account's balance at once and returns the unsaved entry (its ``balance_after`` is
    final); the caller may still point it at a row saved meanwhile (``entry.order_id``) before ``write``.
    ``add_row`` does the same for a credit without making a model (an import adds a million).
    """

    accounts: Mapping[int, PointsAccount]
    programme: Programme
    now: dt.datetime = field(default_factory=timezone.now)
    entries: list[LedgerEntry] = field(default_factory=list)
    _takes: list[LotTake] = field(default_factory=list)
    _expired: list[LotTake] = field(default_factory=list)  # the takes of expire entries
    _expiry: dict[int, dt.datetime] = field(default_factory=dict)  # id(entry): its lot's own expiry
    _touched: dict[int, PointsAccount] = field(default_factory=dict)
    _rows: list[list[Any]] = field(default_factory=list)  # ``add_row``'s entries: values of ENTRY_COLUMNS

    def add(
        self,
        *,
        member_id: int,
        kind: str,
        points: int,
        effective_at: dt.datetime | None = None,
        tier_points: int = 0,
        reason: str = "",
        detail: dict[str, Any] | None = None,
        takes: Sequence[LotTake] = (),
        order_id: int | None = None,
        expires_at: dt.datetime | None = None,
    ) -> LedgerEntry:
        """One entry of ``points`` (negative: a debit, which names the lots it ``takes``; a batch debit never
        takes a balance below zero, so the caller decides how much it may take). A credit's lot expires by the
        programme's rule, or at ``expires_at`` when given (an opening balance keeps the date it had)."""
        account = self.accounts[member_id]
        if points == 0 or isinstance(points, bool):
            raise ValueError("A ledger entry moves a non-zero number of points.")
        if points < 0 and (not takes or account.balance + points < 0):
            raise ValueError("A batch debit names its lots and never takes a balance below zero.")
        account.balance += points
        self._touched[member_id] = account
        self._takes.extend(takes)
        detail = dict(detail or {})
        if takes:
            detail["lots"] = [[take.lot_id, take.points] for take in takes]
            if kind == EntryKind.EXPIRE:  # what a lot loses to expiry is its breakage (the dashboard's estimate)
                self._expired.extend(takes)
        entry = LedgerEntry(
            member_id=member_id, kind=kind, points=points, balance_after=account.balance, tier_points=tier_points,
            effective_at=effective_at or self.now, created_at=self.now, reason=reason, detail=detail,
            order_id=order_id,
        )  # fmt: skip
        self.entries.append(entry)
        if expires_at is not None and points > 0:
            self._expiry[id(entry)] = expires_at
        return entry

    def add_row(
        self, *, member_id: int, kind: str, points: int, effective_at: dt.datetime, tier_points: int = 0,
        reason: str = "", detail: dict[str, Any] | None = None, order: int | None = None,
    ) -> int:  # fmt: skip
        """``add`` for a credit, kept as a row for COPY instead of a model; returns its ``balance_after``. ``order``
        is the position of the entry's order among the ``order_ids`` given to ``insert`` (the orders, which store
        what their entries gave, are inserted after the entries are added). ``detail`` is kept as given."""
        if points <= 0 or isinstance(points, bool):
            raise ValueError("add_row takes credits: a debit names its lots (add).")
        account = self.accounts[member_id]
        account.balance += points
        self._touched[member_id] = account
        self._rows.append([member_id, kind, points, account.balance, tier_points, effective_at, self.now, reason,
                           {} if detail is None else detail, order])  # fmt: skip
        return account.balance

    def write(self, *, account_fields: Sequence[str] = ()) -> list[LedgerEntry]:
        """Insert the entries and the lots their credits open, take the debits' lots, and save the balances
        (and ``account_fields`` the caller changed on the same accounts, such as their tier)."""
        self.insert()
        self.save(account_fields=account_fields)
        return self.entries

    def insert(self, *, order_ids: Sequence[int] = ()) -> list[LedgerEntry]:
        """``write`` without saving the accounts: for a caller that reads the new entries (a tier review
        counting them) before it saves the accounts once with what it changed; ``save`` must follow.
        ``order_ids``: the ids of the orders ``add_row``'s entries name by position."""
        objects_insert(self.entries)
        for row in self._rows:
            if row[_ENTRY_ORDER] is not None:
                row[_ENTRY_ORDER] = order_ids[row[_ENTRY_ORDER]]
        row_ids = tuples_insert(LedgerEntry, ENTRY_COLUMNS, self._rows)
        programme, lots = self.programme, []
        for entry in self.entries:
            if entry.points > 0:
                remaining, expires_at = lot_terms(
                    points=entry.points, balance_before=entry.balance_after - entry.points,
                    earned_at=entry.effective_at, programme=programme,
                )  # fmt: skip
                expires_at = self._expiry.get(id(entry), expires_at)
                lots.append((entry.member_id, entry.pk, entry.points, remaining, entry.effective_at, expires_at))
        for entry_id, (member_id, _kind, points, balance_after, _tier, effective_at, *_rest) in zip(
            row_ids, self._rows, strict=True
        ):
            remaining, expires_at = lot_terms(
                points=points, balance_before=balance_after - points, earned_at=effective_at, programme=programme
            )
            lots.append((member_id, entry_id, points, remaining, effective_at, expires_at))
        tuples_insert(PointsLot, LOT_COLUMNS, lots)  # rows, not models: nothing reads the lots back
        _lots_take(takes=self._takes, expired=self._expired)
        return self.entries

    def save(self, *, account_fields: Sequence[str] = ()) -> None:
        """Save the balances the entries moved (and ``account_fields`` on every account of the batch)."""
        fields = ["balance", *(name for name in account_fields if name != "balance")]
        accounts = self._touched if not account_fields else self.accounts
        accounts_save(list(accounts.values()), fields=fields)
