"""Points expiry: the nightly job that expires lots past their date, and the warning before it."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, connections, transaction
from django.db.models import Min, Sum
from django.utils import timezone

from config.bulk import forked_imap, plans_per_execution
from loyalty.events import PointsChanged, emit
from loyalty.ledger.batch import BATCH, LedgerBatch, LotTake, accounts_lock, member_batches
from loyalty.messages import LoyaltyMessage
from loyalty.models import EntryKind, LedgerEntry, PointsLot, Programme
from members.messaging import Outgoing, messages_queue

EXPIRE_REASON = "Points expired"


@dataclass(frozen=True)
class JobResult:
    members: int = 0
    points: int = 0


def points_expire(*, now: dt.datetime | None = None, batch: int = BATCH, writers: int = 1) -> JobResult:
    """Expire every lot whose date has passed: one ``expire`` entry per member naming the lots it expires.

    Set-based: batches of members in id order, one short transaction each that locks only that batch's
    accounts. Idempotent: expired lots are empty, so running it again (or twice at once) changes nothing more.
    ``writers``: on PostgreSQL, batches written by that many forked processes at once (the first night after
    go-live, whose backlog is a year of lots: ``manage.py points_expire --writers 2``); a killed run then loses
    the batch each writer had under way, and a re-run expires them.
    """
    now = now or timezone.now()
    # Each batch's statement is planned for its members: a plan PostgreSQL kept for it after five batches cost
    # the backlog 296 s of its CPU instead of 110 s (bench/RESULTS.md, issue 18).
    with plans_per_execution():
        # Pending points do not expire: their lot waits for the confirmation job (points_confirm).
        due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now, available_at__isnull=True).order_by()
        batches = list(member_batches(due, batch=batch))
        writers = min(writers, len(batches))
        if writers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block:
            connections.close_all()  # each process opens its own
            # Forked: the batches are the children's without pickling; each task names one by its index.
            done = forked_imap(_writer_batch, range(len(batches)), processes=writers, initializer=_writer_start,
                               initargs=(batches, now))  # fmt: skip
        else:
            done = (_batch_expire_committed(member_ids=member_ids, now=now) for member_ids in batches)
        members = points = 0
        for result in done:
            members, points = members + result.members, points + result.points
        return JobResult(members=members, points=points)


_writer: dict[str, Any] = {}  # a forked writer's batches and time (``_writer_start``)


def _writer_start(batches: list[list[int]], now: dt.datetime) -> None:
    _writer.update(batches=batches, now=now)


def _writer_batch(index: int) -> JobResult:
    return _batch_expire_committed(member_ids=_writer["batches"][index], now=_writer["now"])


def _batch_expire_committed(*, member_ids: Sequence[int], now: dt.datetime) -> JobResult:
    """One batch of members in its own transaction, which locks their accounts (in member order) and no others."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            entries = _batch_expire_sql(member_ids=member_ids, now=now)
        else:
            entries = _batch_expire(member_ids=member_ids, now=now)
        emit(*(PointsChanged(entry=entry) for entry in entries))
    return JobResult(members=len(entries), points=sum(-entry.points for entry in entries))


def _batch_expire(*, member_ids: Sequence[int], now: dt.datetime) -> list[LedgerEntry]:
    """One batch's expiry by the ORM (SQLite): the same entries, lots and balances as ``_batch_expire_sql``."""
    accounts = accounts_lock(member_ids=member_ids)
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now, available_at__isnull=True)
    # Plain rows, not models: the backlog of a first night is millions of lots.
    lots_by_member: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lot_id, member_id, remaining in (
        due.filter(member_id__in=member_ids).order_by("earned_at", "id").values_list("id", "member_id", "remaining")
    ):
        lots_by_member[member_id].append((lot_id, remaining))
    ledger = LedgerBatch(accounts=accounts, programme=Programme.load(), now=now)
    for member_id in sorted(lots_by_member):
        lots = lots_by_member[member_id]
        account = accounts.get(member_id)
        if account is None:
            continue
        # A member in debt (a clawback of points already spent) has nothing left to expire.
        total = min(sum(remaining for _lot, remaining in lots), max(account.balance - account.pending, 0))
        if total <= 0:
            continue
        ledger.add(
            member_id=member_id, kind=EntryKind.EXPIRE, points=-total, reason=EXPIRE_REASON,
            takes=[LotTake(lot_id=lot_id, points=remaining) for lot_id, remaining in lots],
        )  # fmt: skip
    return ledger.write()


# The entry's columns in the model's order, so that a returned row is a model without naming its fields; the
# JSON ``detail`` comes back as text.
_ENTRY_COLUMNS = ", ".join(f.column for f in LedgerEntry._meta.concrete_fields)
_DETAIL = [f.attname for f in LedgerEntry._meta.concrete_fields].index("detail")

# One batch's expiry on PostgreSQL, in one statement from the due lots, after the batch's accounts are locked (a
# statement of its own: a statement that waited for a lock reads the lots as they were before it waited). Per
# member with due lots: the points are the lots' remaining, capped at the balance not pending (a member in debt has
# none and is left alone); one ``expire`` entry names every due lot (oldest first) with all it had left, the
# lots are emptied, counting what they lost as breakage, and the balance moves. As ``LedgerBatch`` writes them.
_EXPIRE_SQL = f"""
WITH due AS MATERIALIZED (
    SELECT l.id, l.member_id, l.remaining, l.earned_at FROM loyalty_pointslot AS l
    WHERE l.member_id = ANY(%(members)s::bigint[]) AND l.member_id BETWEEN %(first)s AND %(last)s
      AND l.remaining > 0 AND l.expires_at <= %(now)s AND l.available_at IS NULL
), taken AS MATERIALIZED (
    SELECT member_id, points, balance - points AS balance_after, lots
    FROM (
        SELECT t.member_id, a.balance, t.lots, LEAST(t.points, GREATEST(a.balance - a.pending, 0)) AS points
        FROM (
            SELECT member_id, SUM(remaining) AS points,
                   jsonb_agg(jsonb_build_array(id, remaining) ORDER BY earned_at, id) AS lots
            FROM due GROUP BY member_id
        ) AS t
        JOIN loyalty_pointsaccount AS a ON a.member_id = t.member_id
    ) AS capped
    WHERE points > 0
), lots AS (
    UPDATE loyalty_pointslot AS l SET remaining = l.remaining - due.remaining, expired = l.expired + due.remaining
    FROM due JOIN taken ON taken.member_id = due.member_id
    WHERE l.id = due.id
), accounts AS (
    UPDATE loyalty_pointsaccount AS a SET balance = taken.balance_after, updated_at = %(clock)s
    FROM taken WHERE a.member_id = taken.member_id
)
INSERT INTO loyalty_ledgerentry (member_id, kind, points, balance_after, tier_points, effective_at, created_at,
                                 order_id, refund_id, staff_id, reason, corrects_id, detail)
SELECT member_id, %(kind)s, -points, balance_after, 0, %(now)s, %(now)s, NULL, NULL, NULL, %(reason)s, NULL,
       jsonb_build_object('lots', lots)
FROM taken ORDER BY member_id
RETURNING {_ENTRY_COLUMNS}
"""


def expiry_warn(*, now: dt.datetime | None = None, batch: int = BATCH) -> JobResult:
    """Warn members whose points expire within the programme's warning period, once per lot.

    Per batch, in one transaction: the lots are marked warned and one message per member is queued
    (``(points expiring, first expiry date)``), so a run that dies mid-way warns nobody twice.
    """
    programme = Programme.load()
    now = now or timezone.now()
    soon = PointsLot.objects.filter(
        remaining__gt=0, warned_at__isnull=True, expires_at__gt=now,
        expires_at__lte=now + dt.timedelta(days=programme.expiry_warning_days),
    ).order_by()  # fmt: skip
    members = points = 0
    for member_ids in member_batches(soon, batch=batch):
        with transaction.atomic():
            # Two runs at once may both see a batch: the message's key (member, first expiry, day) makes it one.
            rows = list(
                soon.filter(member_id__in=member_ids)
                .values("member_id")
                .annotate(points=Sum("remaining"), first=Min("expires_at"))
                .order_by("member_id")
            )
            soon.filter(member_id__in=member_ids).update(warned_at=now)
            messages_queue(
                kind=LoyaltyMessage.EXPIRY_WARNING,
                items=[
                    Outgoing(
                        member_id=row["member_id"],
                        key=f"{row['member_id']}:{row['first'].isoformat()}:{now.date().isoformat()}",
                        context={"points": row["points"], "date": timezone.localdate(row["first"])},
                    )
                    for row in rows
                ],
                now=now,
            )
            members += len(rows)
            points += sum(row["points"] for row in rows)
    return JobResult(members=members, points=points)


def _batch_expire_sql(*, member_ids: Sequence[int], now: dt.datetime) -> list[LedgerEntry]:
    """One batch's expiry on PostgreSQL (``_EXPIRE_SQL``): two statements, no Python per lot. The entries are
    built from the rows the insert returns, for the events."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT member_id FROM loyalty_pointsaccount WHERE member_id = ANY(%s::bigint[]) "
            "ORDER BY member_id FOR UPDATE",
            [list(member_ids)],
        )
        cursor.execute(_EXPIRE_SQL, {
            "members": list(member_ids), "first": member_ids[0], "last": member_ids[-1], "now": now,
            "clock": timezone.now(), "kind": EntryKind.EXPIRE.value, "reason": EXPIRE_REASON,
        })  # fmt: skip
        rows = cursor.fetchall()
    entries = []
    for row in rows:
        values = list(row)
        if isinstance(values[_DETAIL], str):
            values[_DETAIL] = json.loads(values[_DETAIL])
        entries.append(LedgerEntry.from_db(connection.alias, None, values))
    return entries
