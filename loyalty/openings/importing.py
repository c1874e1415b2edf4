"""Importing opening balances: each line's member is found (or enrolled), and given an opening balance (a ledger
entry of its own kind, with a lot that keeps the file's expiry) and the tier the file names, held until the
review may judge them by their own points here.

1. The batch id is the idempotency key (``BalanceImport``): the first run records it with the file's digest.
   The same id with the same file goes on where a stopped run left off, or does nothing once finished; the
   same id with another file is refused (``batch_conflict``).
2. Lines are checked first, over the whole file: a line naming a member an earlier line named (by email,
   phone or customer id) is refused (``duplicate_in_file``), as are unknown tiers and bad values.
3. In batches, each one transaction: members are found by canonical email, phone (E.164) and the shop's
   customer id. Identifiers that name different members are refused (``identifier_conflict``); an unknown
   email is enrolled (source ``import``, no welcome message, no sign-up points, with the line's phone); a line
   with only a phone or customer id that no member has is refused (``unknown_member``), as is an address of a
   user who is no member, such as a staff account (``not_enrollable``). A customer id only finds members: it is
   not stored.
4. A member has one opening balance, ever (``OpeningBalance``, unique per member): a line for a member who
   has one from this batch counts as ``already`` (a resumed run), from another batch it is refused
   (``already_opened``; correct a balance with "Adjust points").
5. The batch's accounts are locked in member order and the entries, lots and balances written by
   ``LedgerBatch``. Opening points do not count towards tiers (they were earned elsewhere): the file's tier
   carries the member's standing, held for one tier window (``TierRule.hold``); a member already on a higher
   tier here keeps it. The moves are history only: an import sends nothing.

6. The command writes the batches with several processes at once on PostgreSQL (``writers``): each batch is
   its own transaction and the checks above hold across them, so the outcome is a single writer's.

A dry run does all of this in a transaction it then rolls back: its report is exactly what the import would do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.bulk import atomic_retried, forked_imap, rows_insert
from loyalty.events import emit
from loyalty.ledger import LedgerBatch, accounts_lock
from loyalty.models import (
    BalanceImport,
    EntryKind,
    OpeningBalance,
    Programme,
    Shop,
    ShopCustomer,
    Tier,
    TierChangeReason,
)
from loyalty.openings.reading import BalanceRow, Refusal
from loyalty.tiers import TierRule, tiers_by_threshold
from members.models import Member, User
from members.services import MemberKey, members_enrol_many

BATCH = 5000
# Times a batch is tried when an insert meets a row another transaction committed meanwhile (a member enrolled).
BATCH_ATTEMPTS = 3
TIER_FIELDS = ["tier", "tier_since", "below_tier_since", "tier_held_until"]


class BatchRefused(Exception):
    """The whole import was refused (a batch id used with another file, or not a batch id)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class BalanceReport:
    batch_id: str
    dry_run: bool = False
    finished_before: bool = False  # the batch was imported before: nothing was done
    lines: int = 0
    imported: int = 0
    already: int = 0  # applied by an earlier run of this batch
    empty: int = 0  # no points and no tier: nothing to bring
    members_enrolled: int = 0
    points: int = 0
    tiers_set: int = 0
    refused: list[Refusal] = field(default_factory=list)

    def as_data(self) -> dict[str, Any]:
        return asdict(self)

    def add(self, batch: BalanceReport) -> None:
        """Count in what one batch did."""
        for name in ("imported", "already", "members_enrolled", "points", "tiers_set"):
            setattr(self, name, getattr(self, name) + getattr(batch, name))
        self.refused.extend(batch.refused)


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def balances_import(
    *,
    rows: Iterable[BalanceRow | Refusal],
    batch_id: str,
    digest: str,
    file_name: str = "",
    shop: Shop | None = None,
    staff: User | None = None,
    dry_run: bool = False,
    batch: int = BATCH,
    writers: int = 1,
) -> BalanceReport:
    """Import the rows as batch ``batch_id`` (see the module's docstring); ``dry_run``: report, change nothing.

    ``writers`` > 1: on PostgreSQL, outside a transaction, that many processes write the batches, each its own
    (a command's choice: it forks, which a web server's worker must not)."""
    batch_id = batch_id.strip()
    if not batch_id or len(batch_id) > 100:
        raise BatchRefused("invalid_batch_id", _("A batch id has 1 to 100 characters."))
    if not dry_run:
        return _import(rows=rows, batch_id=batch_id, digest=digest, file_name=file_name, shop=shop, staff=staff,
                       batch=batch, writers=writers)  # fmt: skip
    with transaction.atomic():  # one transaction: the batches are written in this process, one after another
        report = _import(rows=rows, batch_id=batch_id, digest=digest, file_name=file_name, shop=shop, staff=staff,
                         batch=batch, writers=1)  # fmt: skip
        transaction.set_rollback(True)
    report.dry_run = True
    return report


@dataclass(frozen=True)
class _Run:
    record: BalanceImport
    shop: Shop | None
    programme: Programme
    tiers: dict[str, Tier]  # by lower-case name, in every language
    rule: TierRule
    held_until: dt.datetime


def _import(
    *, rows: Iterable[BalanceRow | Refusal], batch_id: str, digest: str, file_name: str, shop: Shop | None,
    staff: User | None, batch: int, writers: int,
) -> BalanceReport:  # fmt: skip
    now = timezone.now()
    record, created = BalanceImport.objects.get_or_create(
        batch_id=batch_id, defaults={"digest": digest, "file_name": file_name[:255], "staff": staff, "started_at": now}
    )
    if not created and record.digest != digest:
        message = _("Batch %(batch)s was imported from another file. Give this file a batch id of its own.")
        raise BatchRefused("batch_conflict", message % {"batch": batch_id})
    report = BalanceReport(batch_id=batch_id)
    if record.finished_at is not None:
        report.finished_before = True
        return report
    programme = Programme.load()
    ladder = tiers_by_threshold()
    run = _Run(
        record=record, shop=shop, programme=programme, tiers=_tiers_by_name(ladder),
        rule=TierRule.for_programme(programme=programme, reason=TierChangeReason.OPENING, now=now, tiers=ladder),
        held_until=now + relativedelta(months=programme.tier_window_months or 12),
    )  # fmt: skip
    seen: dict[tuple[str, str], int] = {}
    batches: list[list[BalanceRow]] = []
    pending: list[BalanceRow] = []
    for row in rows:
        report.lines += 1
        refusal = row if isinstance(row, Refusal) else _row_check(row, run=run, seen=seen)
        if refusal is not None:
            report.refused.append(refusal)
            continue
        assert isinstance(row, BalanceRow)
        if row.points == 0 and not row.tier:
            report.empty += 1
            continue
        pending.append(row)
        if len(pending) >= batch:
            batches.append(pending)
            pending = []
    if pending:
        batches.append(pending)
    for outcome in _batches_write(run=run, batches=batches, writers=writers):
        report.add(outcome)
    report.refused.sort(key=lambda refusal: refusal.line)
    record.finished_at = timezone.now()
    record.report = report.as_data()
    record.save(update_fields=["finished_at", "report"])
    return report


def _tiers_by_name(ladder: list[Tier]) -> dict[str, Tier]:
    names: dict[str, Tier] = {}
    for tier in ladder:
        for code, _name in settings.LANGUAGES:
            if name := getattr(tier, f"name_{code}", None):
                names.setdefault(name.strip().lower(), tier)
        names.setdefault(str(tier.name).strip().lower(), tier)
    return names


def _row_check(row: BalanceRow, *, run: _Run, seen: dict[tuple[str, str], int]) -> Refusal | None:
    """What refuses a line on its own or against the lines before it (``seen``: identifier -> first line)."""
    external_id = row.external_id if run.shop is not None else ""
    if not (row.email or row.phone or external_id):
        return Refusal(row.line, "no_identifier", _("A customer id alone needs the shop it belongs to."), "external_id")
    keys = [(name, value) for name, value in (("email", row.email), ("phone", row.phone), ("external_id", external_id))
            if value]  # fmt: skip
    for key in keys:
        if key in seen:
            message = _("Line %(line)s names the same member.") % {"line": seen[key]}
            return Refusal(row.line, "duplicate_in_file", message, key[0])
    for key in keys:
        seen[key] = row.line
    if row.tier and row.tier.lower() not in run.tiers:
        return Refusal(row.line, "unknown_tier", _("The club has no tier named %(tier)s.") % {"tier": row.tier}, "tier")
    return None


def _batches_write(*, run: _Run, batches: list[list[BalanceRow]], writers: int) -> Iterator[BalanceReport]:
    """Each batch's outcome, in file order: written here, or by ``writers`` forked processes on PostgreSQL.

    Batches may be written at once: each locks its accounts in member order, a member named twice in the file is
    refused before any batch, and a batch that meets a member another one enrolled meanwhile is tried again
    (``_batch_import``), so the outcome is the one a single writer would reach.
    """
    writers = min(writers, len(batches))
    if writers < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        for rows in batches:
            yield _batch_import(run=run, rows=rows)
        return
    connections.close_all()  # each process opens its own
    # Forked: the run and its rows are the children's without pickling; each task names a batch by its index.
    yield from forked_imap(_writer_batch, range(len(batches)), processes=writers, initializer=_writer_start,
                           initargs=(run, batches))  # fmt: skip


_writer: dict[str, Any] = {}  # a forked writer's run and batches (``_writer_start``)


def _writer_start(run: _Run, batches: list[list[BalanceRow]]) -> None:
    _writer.update(run=run, batches=batches)


def _writer_batch(index: int) -> BalanceReport:
    return _batch_import(run=_writer["run"], rows=_writer["batches"][index])


def _batch_import(*, run: _Run, rows: list[BalanceRow]) -> BalanceReport:
    # A member one of the batch's addresses or phones names may be enrolled meanwhile (by another writer, or a
    # second run of the batch): the batch is undone whole and, read again, finds them.
    return atomic_retried(lambda: _batch_write(run=run, rows=rows), attempts=BATCH_ATTEMPTS)


def _batch_write(*, run: _Run, rows: list[BalanceRow]) -> BalanceReport:
    report = BalanceReport(batch_id=run.record.batch_id)
    members = _members_find(run=run, rows=rows, report=report)
    if not members:
        return report
    accounts = accounts_lock(member_ids=sorted({member_id for _row, member_id in members}), create=True)
    # Read under the locks: a second run of this batch waits for them, then finds this one's openings.
    opened = {
        member_id: (batch_id, line)
        for member_id, batch_id, line in OpeningBalance.objects.filter(member_id__in=list(accounts)).values_list(
            "member_id", "batch__batch_id", "line"
        )
    }
    ledger = LedgerBatch(accounts=accounts, programme=run.programme, now=timezone.now())
    applied, moves = [], []
    for row, member_id in members:
        if member_id in opened:
            batch_id, line = opened[member_id]
            if batch_id == run.record.batch_id and line == row.line:
                report.already += 1
            elif batch_id == run.record.batch_id:
                message = _("Line %(line)s names the same member.") % {"line": line}
                report.refused.append(Refusal(row.line, "duplicate_in_file", message))
            else:
                message = _("The member already has an opening balance, from batch %(batch)s.")
                report.refused.append(Refusal(row.line, "already_opened", message % {"batch": batch_id}))
            continue
        entry = None
        if row.points:
            entry = ledger.add(
                member_id=member_id, kind=EntryKind.OPENING, points=row.points, expires_at=row.expires_at,
                detail={"batch": run.record.batch_id, "line": row.line},
            )  # fmt: skip
        if row.tier:
            tier = run.tiers[row.tier.lower()]
            if (move := run.rule.hold(accounts[member_id], tier=tier, until=run.held_until)) is not None:
                moves.append(move)
            report.tiers_set += accounts[member_id].tier_id == tier.pk  # not when a higher tier here stands
        applied.append((member_id, entry, row.line))
        report.imported += 1
        report.points += row.points
    ledger.write(account_fields=TIER_FIELDS if any(row.tier for row, _m in members) else ())
    rows_insert(OpeningBalance, [
        {"member_id": member_id, "batch_id": run.record.pk, "entry_id": entry.pk if entry else None, "line": line}
        for member_id, entry, line in applied
    ])  # fmt: skip
    # History keeps the moves; an import sends nothing (no webhooks, no messages).
    emit(*(replace(move, notify=False) for move in moves))
    return report


def _members_find(*, run: _Run, rows: list[BalanceRow], report: BalanceReport) -> list[tuple[BalanceRow, int]]:
    """Each line with its member's id, enrolling unknown emails; the lines that cannot have one are refused."""
    by_email = dict(
        Member.objects.filter(user__email__in={row.email for row in rows if row.email}, erased_at__isnull=True)
        .values_list("user__email", "pk")
    )  # fmt: skip
    phones_named = {row.phone for row in rows if row.phone}
    by_phone = dict(Member.objects.filter(phone__in=phones_named).values_list("phone", "pk"))
    by_external: dict[str, int] = {}
    if run.shop is not None:
        ids = {row.external_id for row in rows if row.external_id}
        by_external = dict(
            ShopCustomer.objects.filter(shop=run.shop, external_id__in=ids).values_list("external_id", "member_id")
        )
    found: list[tuple[BalanceRow, int | None]] = []
    enrol: dict[str, tuple[str, str]] = {}
    phones: dict[str, str] = {}
    for row in rows:
        members = {by_email.get(row.email), by_phone.get(row.phone), by_external.get(row.external_id)} - {None}
        if len(members) > 1 or (members and row.email and row.email not in by_email):
            message = _("The email, phone and customer id of this line belong to different members.")
            report.refused.append(Refusal(row.line, "identifier_conflict", message))
        elif members:
            found.append((row, members.pop()))
        elif row.email:
            enrol[row.email] = ("", "")
            if row.phone:
                phones[row.email] = row.phone
            found.append((row, None))
        else:
            message = _("No member has this phone or customer id. Give an email address to enrol them.")
            report.refused.append(Refusal(row.line, "unknown_member", message))
    # An address of a user who is no member (a staff account): enrolling would need that account; refused.
    for email in User.objects.filter(email__in=list(enrol), member__isnull=True).values_list("email", flat=True):
        del enrol[email]
        phones.pop(email, None)
    enrolled: dict[str, MemberKey] = {}
    if enrol:
        enrolled, report.members_enrolled = members_enrol_many(people=enrol, source=Member.Source.IMPORT, phones=phones)
    resolved: list[tuple[BalanceRow, int]] = []
    taken: dict[int, int] = {}  # member id -> the line that named them
    for row, member_id in found:
        if member_id is None and row.email not in enrolled:
            message = _("This address belongs to a staff account that is no membership.")
            report.refused.append(Refusal(row.line, "not_enrollable", message, "email"))
            continue
        member_id = member_id if member_id is not None else enrolled[row.email].pk
        if member_id in taken:  # two lines named one member by different identifiers
            message = _("Line %(line)s names the same member.") % {"line": taken[member_id]}
            report.refused.append(Refusal(row.line, "duplicate_in_file", message))
            continue
        taken[member_id] = row.line
        resolved.append((row, member_id))
    return resolved
