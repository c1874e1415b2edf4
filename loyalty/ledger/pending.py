"""Pending points: what orders earned within their return window becomes spendable once it has passed."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from loyalty.ledger.batch import BATCH, accounts_lock, accounts_save, member_batches
from loyalty.ledger.expiry import JobResult
from loyalty.models import PointsLot


def points_confirm(*, now: dt.datetime | None = None, batch: int = BATCH) -> JobResult:
    """Make spendable every pending lot whose day has come: the lot stops being pending and its member's
    ``pending`` drops by what it still holds (a refund in the window may have taken some or all of it).

    Set-based: batches of members in id order, one short transaction each that locks only that batch's accounts.
    Idempotent: a confirmed lot is no longer pending, so running it again (or twice at once) changes nothing more.
    Writes no ledger entry: the points were entered when earned; only when they may be spent changes.
    """
    now = now or timezone.now()
    due = PointsLot.objects.filter(available_at__lte=now).order_by()
    members = points = 0
    for member_ids in member_batches(due, batch=batch):
        with transaction.atomic():
            accounts = accounts_lock(member_ids=member_ids)
            batch_due = due.filter(member_id__in=member_ids)  # read again under the locks
            confirmed = dict(
                batch_due.values("member_id").annotate(points=Sum("remaining")).values_list("member_id", "points")
            )
            batch_due.update(available_at=None)
            changed = []
            for member_id, total in confirmed.items():
                if total and (account := accounts.get(member_id)) is not None:
                    account.pending -= total
                    changed.append(account)
            accounts_save(changed, fields=["pending"])
            members += len(changed)
            points += sum(confirmed.values())
    return JobResult(members=members, points=points)
