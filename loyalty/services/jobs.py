"""Scheduled jobs of the points engine: expiry, tier review and birthday bonuses.

Set-based: each job works through members in batches (``BATCH`` member ids in primary-key order), with
a constant number of queries per batch and one short transaction per batch that locks only that batch's
accounts (in primary-key order, like every other writer). Each job is idempotent: running it again, or
twice at once, changes nothing more.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Sum
from django.utils import timezone

from loyalty.models import (
    BirthdayBonus,
    EntryKind,
    LedgerEntry,
    PointsAccount,
    PointsLot,
    Programme,
    Tier,
    WebhookEventType,
)
from loyalty.services.ledger import accounts_lock, accounts_save, lots_open_many
from loyalty.services.tiers import tier_message, tier_window_start
from loyalty.services.webhooks import events_publish_many, points_changed_payload
from members.messaging import Outgoing, messages_queue
from members.models import Member, MessageKind

BATCH = settings.KLUBB_JOB_BATCH


@dataclass(frozen=True)
class JobResult:
    members: int = 0
    points: int = 0


def _member_batches(queryset: object, *, batch: int = BATCH) -> Iterator[list[int]]:
    """The distinct member ids of ``queryset`` (which has ``member_id``), ascending, in batches.

    Read once, with one index scan, and then cut: paging with ``member_id > last`` would walk the index
    again for every batch. The ids are a snapshot; each batch re-reads its rows under lock.
    """
    ids = list(queryset.order_by("member_id").values_list("member_id", flat=True).distinct())  # type: ignore[attr-defined]
    for start in range(0, len(ids), batch):
        yield ids[start : start + batch]


def points_expire(*, now: dt.datetime | None = None, batch: int = BATCH) -> JobResult:
    """Expire every lot whose date has passed: one ``expire`` entry per member naming the lots it expires."""
    now = now or timezone.now()
    due = PointsLot.objects.filter(remaining__gt=0, expires_at__lte=now).order_by()
    members = points = 0
    for member_ids in _member_batches(due, batch=batch):
        with transaction.atomic():
            accounts = accounts_lock(member_ids=member_ids)
            lots_by_member: dict[int, list[PointsLot]] = defaultdict(list)
            for lot in due.filter(member_id__in=member_ids).order_by().only("id", "member_id", "remaining"):
                lots_by_member[lot.member_id].append(lot)
            entries, touched = [], []
            for member_id, lots in lots_by_member.items():
                account = accounts.get(member_id)
                total = min(sum(lot.remaining for lot in lots), max(account.balance, 0) if account else 0)
                if not account or total <= 0:
                    continue
                account.balance -= total
                touched.append(account)
                entries.append(
                    LedgerEntry(
                        member_id=member_id,
                        kind=EntryKind.EXPIRE,
                        points=-total,
                        balance_after=account.balance,
                        effective_at=now,
                        created_at=now,
                        reason="Points expired",
                        detail={"lots": [[lot.pk, lot.remaining] for lot in lots]},
                    )
                )
            LedgerEntry.objects.bulk_create(entries)
            accounts_save(touched, fields=["balance"])
            PointsLot.objects.filter(pk__in=[lot.pk for lots in lots_by_member.values() for lot in lots]).update(
                remaining=0
            )
            _publish_points_changed(entries)
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
    for member_ids in _member_batches(soon, batch=batch):
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
                kind=MessageKind.EXPIRY_WARNING,
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


@dataclass(frozen=True)
class TierChange:
    member_id: int
    from_tier: str | None
    to_tier: str | None
    up: bool


def tier_review(*, now: dt.datetime | None = None, batch: int = BATCH) -> list[TierChange]:
    """Place every member on the tier their points in the rolling window reach.

    Upgrades at once. A member below their tier is moved down one level only after being below it for the
    grace period, and never within the grace period after moving up.

    Most members stay where they are, so each batch is first decided from a plain read; only the accounts
    that would change are then locked and decided again from fresh figures (an order may have come in
    between and moved them already).
    """
    programme = Programme.load()
    now = now or timezone.now()
    tiers = list(Tier.objects.order_by("threshold"))
    if not tiers:
        return []
    review = TierReview.for_programme(programme=programme, now=now, tiers=tiers)
    changes: list[TierChange] = []
    for member_ids in _member_batches(PointsAccount.objects.all(), batch=batch):
        unlocked = PointsAccount.objects.filter(member_id__in=member_ids).only("tier", "tier_since", "below_tier_since")
        would_change, _ = review.decide(list(unlocked))
        if not would_change:
            continue
        with transaction.atomic():
            accounts = accounts_lock(member_ids=[account.member_id for account in would_change])
            touched, batch_changes = review.decide(list(accounts.values()))
            accounts_save(touched, fields=["tier", "tier_since", "below_tier_since"])
            _publish_tier_changes(batch_changes)
            for up, kind in ((True, MessageKind.TIER_UP), (False, MessageKind.TIER_DOWN)):
                moved = [accounts[change.member_id] for change in batch_changes if change.up is up]
                messages_queue(
                    kind=kind,
                    items=[tier_message(member_id=a.member_id, tier=a.tier, since=a.tier_since) for a in moved],
                    now=now,
                )
            changes.extend(batch_changes)
    return changes


@dataclass(frozen=True)
class TierReview:
    """The tier review's rules at one moment, applied to accounts in memory (the review job and imports)."""

    tiers: list[Tier]
    now: dt.datetime
    grace: dt.timedelta
    start: dt.datetime | None

    @classmethod
    def for_programme(cls, *, programme: Programme, now: dt.datetime, tiers: list[Tier] | None = None) -> TierReview:
        return cls(
            tiers=tiers if tiers is not None else list(Tier.objects.order_by("threshold")),
            now=now,
            grace=dt.timedelta(days=programme.tier_grace_days),
            start=tier_window_start(programme=programme, now=now),
        )

    def decide(self, accounts: list[PointsAccount]) -> tuple[list[PointsAccount], list[TierChange]]:
        """Apply the rules to ``accounts`` in memory: the accounts that changed, and the tier moves among them."""
        window = LedgerEntry.objects.filter(member_id__in=[account.member_id for account in accounts])
        if self.start is not None:
            window = window.filter(effective_at__gte=self.start)
        points = dict(window.order_by().values("member_id").annotate(total=Sum("tier_points")).values_list(
            "member_id", "total"
        ))  # fmt: skip
        touched, changes = [], []
        for account in accounts:
            below_before = account.below_tier_since
            change = _tier_decide(
                account=account, points=points.get(account.member_id) or 0, tiers=self.tiers, now=self.now,
                grace=self.grace,
            )  # fmt: skip
            if change is not None:
                changes.append(change)
            if change is not None or account.below_tier_since != below_before:
                touched.append(account)
        return touched, changes


def _tier_decide(
    *, account: PointsAccount, points: int, tiers: list[Tier], now: dt.datetime, grace: dt.timedelta
) -> TierChange | None:
    current = next((i for i, tier in enumerate(tiers) if tier.pk == account.tier_id), None)
    reached = max((i for i, tier in enumerate(tiers) if tier.threshold <= points), default=0)
    previous = tiers[current].name if current is not None else None
    if current is None or reached > current:
        account.tier, account.tier_since, account.below_tier_since = tiers[reached], now, None
        return TierChange(account.member_id, previous, tiers[reached].name, up=True)
    if reached == current:
        account.below_tier_since = None
        return None
    if account.below_tier_since is None:
        account.below_tier_since = now
        return None
    recently_up = account.tier_since is not None and now - account.tier_since < grace
    if now - account.below_tier_since < grace or recently_up:
        return None
    account.tier, account.tier_since = tiers[current - 1], now
    account.below_tier_since = now if reached < current - 1 else None
    return TierChange(account.member_id, previous, tiers[current - 1].name, up=False)


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
    now = timezone.now()
    for member_ids in _member_batches(candidates, batch=batch):
        try:
            with transaction.atomic():
                accounts = accounts_lock(member_ids=member_ids, create=True)
                given = BirthdayBonus.objects.filter(member_id__in=member_ids, year=today.year)
                already = set(given.values_list("member_id", flat=True))
                entries = []
                for member_id in member_ids:
                    if member_id in already:
                        continue
                    account = accounts[member_id]
                    account.balance += programme.birthday_bonus
                    entries.append(
                        LedgerEntry(
                            member_id=member_id, kind=EntryKind.BONUS, points=programme.birthday_bonus,
                            balance_after=account.balance, effective_at=now, created_at=now,
                            reason="Birthday bonus", detail={"source": "birthday", "birthday_year": today.year},
                        )
                    )  # fmt: skip
                LedgerEntry.objects.bulk_create(entries)
                accounts_save([accounts[e.member_id] for e in entries], fields=["balance"])
                BirthdayBonus.objects.bulk_create(
                    [BirthdayBonus(member_id=e.member_id, year=today.year, entry=e) for e in entries]
                )
                lots_open_many(entries=entries, programme=programme)
                _publish_points_changed(entries)
                members += len(entries)
        except IntegrityError:  # another run gave this batch its bonus first: nothing more to do
            continue
    return JobResult(members=members, points=members * programme.birthday_bonus)


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _publish_points_changed(entries: list[LedgerEntry]) -> None:
    if not entries:
        return
    public_ids = dict(Member.objects.filter(pk__in=[e.member_id for e in entries]).values_list("pk", "public_id"))
    events_publish_many(
        type=WebhookEventType.POINTS_CHANGED,
        payloads=[points_changed_payload(member_public_id=public_ids[e.member_id], entry=e) for e in entries],
    )


def _publish_tier_changes(changes: list[TierChange]) -> None:
    if not changes:
        return
    public_ids = dict(Member.objects.filter(pk__in=[c.member_id for c in changes]).values_list("pk", "public_id"))
    events_publish_many(
        type=WebhookEventType.TIER_CHANGED,
        payloads=[{"member_id": str(public_ids[c.member_id]), "from": c.from_tier, "to": c.to_tier} for c in changes],
    )
