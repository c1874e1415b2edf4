"""Points expiry: the nightly job that expires lots past their date, and the warning before it."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Min, Sum
from django.utils import timezone

from loyalty.events import PointsChanged, emit
from loyalty.ledger.batch import BATCH, LedgerBatch, LotTake, accounts_lock, member_batches
from loyalty.messages import LoyaltyMessage
from loyalty.models import EntryKind, PointsLot, Programme
from members.messaging import Outgoing, messages_queue


@dataclass(frozen=True)
class JobResult:
    members: int = 0
    points: int = 0


def points_expire(*, now: dt.datetime | None = None, batch: int = BATCH) -> JobResult:
    """Expire every lot whose date has passed: one ``expire`` entry per member naming the lots it expires.

    Set-based: batches of members in id order, one short transaction each that locks only that batch's
    accounts. Idempotent: expired lots are empty, so running it again (or twice at once) changes nothing more.
    """
    now = now or timezone.now()
    programme = Programme.load()
    # Pending points do not expire: their lot waits for the confirmation job (points_confirm).
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now, available_at__isnull=True).order_by()
    members = points = 0
    for member_ids in member_batches(due, batch=batch):
        with transaction.atomic():
            accounts = accounts_lock(member_ids=member_ids)
            # Plain rows, not models: the backlog of a first night is millions of lots.
            lots_by_member: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for lot_id, member_id, remaining in due.filter(member_id__in=member_ids).values_list(
                "id", "member_id", "remaining"
            ):
                lots_by_member[member_id].append((lot_id, remaining))
            ledger = LedgerBatch(accounts=accounts, programme=programme, now=now)
            for member_id, lots in lots_by_member.items():
                account = accounts.get(member_id)
                if account is None:
                    continue
                # A member in debt (a clawback of points already spent) has nothing left to expire.
                total = min(sum(remaining for _lot, remaining in lots), max(account.balance - account.pending, 0))
                if total <= 0:
                    continue
                ledger.add(
                    member_id=member_id, kind=EntryKind.EXPIRE, points=-total, reason="Points expired",
                    takes=[LotTake(lot_id=lot_id, points=remaining) for lot_id, remaining in lots],
                )  # fmt: skip
            entries = ledger.write()
            emit(*(PointsChanged(entry=entry) for entry in entries))
            members += len(entries)
            points += sum(-entry.points for entry in entries)
    return JobResult(members=members, points=points)


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
