"""Birthday bonuses: the programme's gift of points on a member's birthday, once a year."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.events import PointsChanged, emit
from loyalty.ledger import BATCH, JobResult, LedgerBatch, accounts_lock, member_batches
from loyalty.models import BirthdayBonus, EntryKind, Programme
from members.models import Member


def birthday_bonuses(*, today: dt.date | None = None, batch: int = BATCH) -> JobResult:
    """Give the programme's birthday bonus to members born on this day (29 February: on 28 February in other
    years), once per member and year (a unique row per year; safe to run again)."""
    programme = Programme.load()
    today = today or timezone.localdate()
    if not programme.birthday_bonus:
        return JobResult()
    born = Member.objects.filter(birthday__month=today.month, birthday__day=today.day, erased_at__isnull=True)
    if today.month == 2 and today.day == 28 and not _is_leap(today.year):
        born = Member.objects.filter(birthday__month=2, birthday__day__in=[28, 29], erased_at__isnull=True)
    candidates = born.exclude(birthday_bonuses__year=today.year).annotate(member_id=F("pk"))
    members = 0
    for member_ids in member_batches(candidates, batch=batch):
        try:
            with transaction.atomic():
                accounts = accounts_lock(member_ids=member_ids, create=True)
                given = BirthdayBonus.objects.filter(member_id__in=member_ids, year=today.year)
                already = set(given.values_list("member_id", flat=True))
                ledger = LedgerBatch(accounts=accounts, programme=programme)
                for member_id in member_ids:
                    if member_id not in already:
                        ledger.add(
                            member_id=member_id, kind=EntryKind.BONUS, points=programme.birthday_bonus,
                            reason="Birthday bonus", detail={"source": "birthday", "birthday_year": today.year},
                        )  # fmt: skip
                entries = ledger.write()
                BirthdayBonus.objects.bulk_create(
                    [BirthdayBonus(member_id=e.member_id, year=today.year, entry=e) for e in entries]
                )
                emit(*(PointsChanged(entry=entry) for entry in entries))
                members += len(entries)
        except IntegrityError:  # another run gave this batch its bonus first: nothing more to do
            continue
    return JobResult(members=members, points=members * programme.birthday_bonus)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
