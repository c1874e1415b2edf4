"""Importing a shop's order history in bulk, through the same earning rules as live orders.

``orders_import`` takes rows already read (``order_rows_read`` reads CSV or JSON lines) and works a window of
rows at a time, each window's new orders in batches, each batch one transaction with a constant number of
statements; on PostgreSQL the batches may be written by several processes at once (``writers``), while the
next window is read:

1. Idempotency, as for live orders: an order id the shop already reported (or imported, or that appears
   earlier in the file) with the same data is counted as ``already`` and changes nothing; with other data it
   is an ``idempotency_conflict`` error for that line. Running an import twice imports nothing the second time.
   The rows are compared with the recorded orders a window at a time in one statement (``orders_known``), so a
   second run does not look its orders up batch by batch.
   The shop may report one of the file's orders live while the import runs: each batch reads its orders again
   once its accounts are locked, so an order the API recorded meanwhile counts as ``already`` and earns once.
2. Members are found by email; unknown addresses are enrolled (source ``import``, no welcome message and no
   sign-up points: they did not sign up; they claim their account with a sign-in code).
3. The batch's points accounts are locked in member order (live orders for the same members wait), each
   order earns ``earning_points`` with the rules active at its date and the member's tier, and the ledger
   entries, points lots and rule uses are inserted, oldest order first per member.
4. Tiers are placed again for the batch's members by the tier review's rule (``TierRule.review``); the moves
   are kept as history.

A run stopped midway keeps the batches it finished, and the next run counts them as ``already``. History sends
nothing: no messages, no webhooks, and imported orders do not qualify referrals. The ledger part goes through
``loyalty.ledger.LedgerBatch``, like the scheduled jobs; the COPY writer, the forked writers and the retried
batch transaction are ``config.bulk``'s, shared with the opening balances' import.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import IO, Any

from django.db import connection, connections
from django.utils import timezone

from config.bulk import ForkedMap, atomic_retried, tuples_insert
from loyalty.campaigns import RuleSpec, earning_points, earning_rules_load, earning_rules_used_many
from loyalty.errors import LoyaltyError
from loyalty.events import emit
from loyalty.ledger import LedgerBatch, accounts_lock
from loyalty.models import EarningRuleUse, EntryKind, Order, OrderSource, Programme, Shop, TierChangeReason
from loyalty.orders.record import order_validate
from loyalty.orders.types import OrderInput, OrderItem, OrderOutcome
from loyalty.shops import MemberRef
from loyalty.tiers import TierRule
from members.emails import email_canonical
from members.models import Member
from members.services import members_enrol_many

BATCH = 5000
WINDOW = 50_000  # orders compared with the table at once (``orders_known``)
_IDS_TABLE = "klubb_import_order_ids"  # a temporary table: each connection has its own
# Times a batch is tried when an insert meets a row another transaction committed meanwhile (see _batch_import).
BATCH_ATTEMPTS = 3
CSV_COLUMNS = ("order_id", "email", "amount", "currency", "occurred_at")


class RowError(Exception):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


@dataclass
class ImportReport:
    imported: int = 0
    already: int = 0
    members_enrolled: int = 0
    points: int = 0
    # (line, code, message, field): the lines that were not imported, and why.
    errors: list[tuple[int, str, str, str | None]] = field(default_factory=list)

    def add(self, part: ImportReport) -> None:
        """Count in what one batch (or one writer's share of a window) did."""
        self.imported += part.imported
        self.already += part.already
        self.members_enrolled += part.members_enrolled
        self.points += part.points
        self.errors.extend(part.errors)


# --- Reading ------------------------------------------------------------------------------------------------


def order_rows_read(
    stream: IO[str], *, format: str, skip: Collection[int] = frozenset()
) -> Iterator[tuple[int, OrderInput | RowError]]:
    """``(line number, order or the reason it cannot be one)`` for each row of a CSV file (a header row with
    at least order_id, email, amount, currency, occurred_at; tax, first_name, last_name optional) or of JSON
    lines (one order per line, as ``POST /api/v1/orders/`` takes it, with ``member.email``). JSON lines whose
    number is in ``skip`` are passed over unread (``orders_import_file``: lines found to replay recorded orders)."""
    if format == "csv":
        reader = csv.DictReader(stream)
        missing = [column for column in CSV_COLUMNS if column not in (reader.fieldnames or [])]
        if missing:
            yield 1, RowError("invalid", f"The header lacks {', '.join(missing)}.", missing[0])
            return
        for number, row in enumerate(reader, start=2):
            yield number, _parse(_csv_order, row)
    elif format == "jsonl":
        for number, line in enumerate(stream, start=1):
            if number not in skip and line.strip():
                yield number, order_line_read(line)
    else:
        raise ValueError(f"unknown format {format!r}: csv or jsonl")


def order_line_read(line: str) -> OrderInput | RowError:
    """One line of a JSON-lines history: the order, or why it cannot be one."""
    return _parse(_json_order, line)


def _parse(parse: Callable[[Any], OrderInput], raw: Any) -> OrderInput | RowError:
    try:
        return parse(raw)
    except RowError as error:
        return error


def _csv_order(row: dict[str, str]) -> OrderInput:
    return _order(
        order_id=row.get("order_id", ""), email=row.get("email", ""), amount=row.get("amount", ""),
        tax=row.get("tax") or "0", currency=row.get("currency", ""), occurred_at=row.get("occurred_at", ""),
        first_name=row.get("first_name") or "", last_name=row.get("last_name") or "", items=[],
    )  # fmt: skip


def _json_order(line: str) -> OrderInput:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RowError("invalid", f"Not JSON: {exc.msg}.") from exc
    if not isinstance(data, dict):
        raise RowError("invalid", "Each line must be one JSON object.")
    member = data.get("member") if isinstance(data.get("member"), dict) else {}
    items = data.get("items") or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise RowError("invalid", "items must be a list of objects.", "items")
    return _order(
        order_id=str(data.get("order_id") or ""), email=str(member.get("email") or ""),
        amount=str(data.get("amount") or ""), tax=str(data.get("tax") or "0"),
        currency=str(data.get("currency") or ""), occurred_at=str(data.get("occurred_at") or ""),
        first_name=str(member.get("first_name") or ""), last_name=str(member.get("last_name") or ""), items=items,
    )  # fmt: skip


def _order(
    *, order_id: str, email: str, amount: str, tax: str, currency: str, occurred_at: str, first_name: str,
    last_name: str, items: list[dict],
) -> OrderInput:  # fmt: skip
    order_id, email = order_id.strip(), email_canonical(email)
    if not order_id or len(order_id) > 100:
        raise RowError("invalid", "order_id must be 1 to 100 characters.", "order_id")
    if "@" not in email:
        raise RowError("invalid", "A valid email address is required.", "email")
    when = _datetime(occurred_at)
    amount_, tax_ = _money(amount, "amount"), _money(tax, "tax")
    try:
        order_items = tuple(
            OrderItem(sku=str(item.get("sku", "")), name=str(item.get("name", "")),
                      category=str(item.get("category", "")), quantity=int(item.get("quantity", 1)),
                      unit_price=Decimal(str(item.get("unit_price", "0"))), gift_card=item.get("gift_card") is True)
            for item in items
        )  # fmt: skip
    except (ValueError, InvalidOperation) as exc:
        raise RowError("invalid", "Each item needs a whole quantity and a unit_price.", "items") from exc
    return OrderInput(
        order_id=order_id, member=MemberRef(email=email, first_name=first_name[:150], last_name=last_name[:150]),
        amount=amount_, tax=tax_, currency=currency.strip().upper(),
        occurred_at=when, items=order_items,
    )  # fmt: skip


def _money(value: str, name: str) -> Decimal:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation as exc:
        raise RowError("invalid", f"{name} must be a decimal number such as 1249.00.", name) from exc
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise RowError("invalid", f"{name} must be zero or more, with at most two decimals.", name)
    return amount


def _datetime(value: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise RowError("invalid", "occurred_at must be an ISO 8601 time with its UTC offset.", "occurred_at") from exc
    if parsed.tzinfo is None:
        raise RowError("invalid", "occurred_at needs its UTC offset, e.g. 2026-11-20T14:03:00+01:00.", "occurred_at")
    return parsed


# --- Importing ----------------------------------------------------------------------------------------------


def orders_import(
    *, shop: Shop, rows: Iterable[tuple[int, OrderInput | RowError]], batch: int = BATCH, window: int = WINDOW,
    writers: int = 1,
) -> ImportReport:  # fmt: skip
    """Import the rows in batches of ``batch`` orders; see the module's docstring. The rows are compared with the
    orders already recorded ``window`` at a time, in one statement each.

    ``writers`` > 1: on PostgreSQL, outside a transaction, each window's new orders are shared among that many
    forked processes by member (a command's choice: it forks, which a web server's worker must not)."""
    report = ImportReport()
    programme = Programme.load()
    run = _Run(
        shop=shop, programme=programme,
        rules=list(earning_rules_load()),  # every active rule: each order earns by the rules of its own date
        rule=TierRule.for_programme(programme=programme, reason=TierChangeReason.IMPORT), batch=batch,
    )  # fmt: skip
    _windows_import(run=run, rows=rows, window=window, writers=writers, report=report)
    report.errors.sort(key=lambda error: error[0])
    return report


def _windows_import(
    *, run: _Run, rows: Iterable[tuple[int, OrderInput | RowError]], window: int, writers: int, report: ImportReport
) -> None:  # fmt: skip
    """Read the rows a window at a time and import each; with forked writers, the next window is read (parsed,
    validated and fingerprinted) while they write this one."""
    shop, programme = run.shop, run.programme
    pending: list[tuple[int, OrderInput]] = []
    writing: ForkedMap[ImportReport] | None = None  # the forked writers of the window before, while this one is read
    try:
        for number, row in rows:
            if isinstance(row, RowError):
                report.errors.append((number, row.code, row.message, row.field))
                continue
            try:
                order_validate(shop=shop, programme=programme, order=row)
            except LoyaltyError as error:
                report.errors.append((number, error.code, error.message, error.field))
                continue
            pending.append((number, row))
            if len(pending) >= window:
                writing = _window_import(run=run, rows=pending, writers=writers, report=report, writing=writing)
                pending = []
        if pending:
            writing = _window_import(run=run, rows=pending, writers=writers, report=report, writing=writing)
        if writing is not None:
            for outcome in writing.results():
                report.add(outcome)
            writing = None
    finally:
        if (
            writing is not None
        ):  # the reading failed: stop the writers (their finished batches stay, as in a stopped run)
            writing.stop()


@dataclass(frozen=True)
class _Run:
    shop: Shop
    programme: Programme
    rules: list[RuleSpec]
    rule: TierRule
    batch: int


def _window_import(
    *, run: _Run, rows: list[tuple[int, OrderInput]], writers: int, report: ImportReport,
    writing: ForkedMap[ImportReport] | None,
) -> ForkedMap[ImportReport] | None:  # fmt: skip
    """Sort out the orders recorded before (replays and conflicts, and a line repeating an earlier one) in one
    comparison with the table, then write the rest in batches, here or by ``writers`` forked processes (returned
    writing: the caller reads the next window meanwhile). ``writing``: the window before's writers, waited for
    first, so that this window's comparison sees all of that one's orders.

    With several writers, each batch is shared among them by member (a hash of the address), and each writer
    writes its parts of the batches in file order: no two writers lock one account, so they never wait on each
    other, and every member's orders are written, and their tier reviewed, at the same points as by one writer,
    so the outcome is one writer's."""
    if writing is not None:
        for outcome in writing.results():
            report.add(outcome)
    known = orders_known(shop=run.shop, order_ids={order.order_id for _number, order in rows})
    fresh = _fresh_orders(rows=rows, known=known, report=report)
    batches = [fresh[start : start + run.batch] for start in range(0, len(fresh), run.batch)]
    if writers < 2 or len(batches) < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        report.add(_batches_write(run=run, batches=batches))
        return None
    shares: list[list[list[tuple[int, OrderInput]]]] = [[[] for _batch in batches] for _writer in range(writers)]
    for position, part in enumerate(batches):
        for row in part:
            shares[zlib.crc32(row[1].member.email.encode()) % writers][position].append(row)
    connections.close_all()  # each process opens its own; the parent opens its own again after them
    # Forked: the run and the window's orders are the children's without pickling; a task names a writer's share.
    return ForkedMap(_writer_share, range(writers), processes=writers, initializer=_writer_start,
                     initargs=(run, shares))  # fmt: skip


_writer: dict[str, Any] = {}  # a forked writer's run and the window's shares (``_writer_start``)


def _writer_start(run: _Run, shares: list[list[list[tuple[int, OrderInput]]]]) -> None:
    _writer.update(run=run, shares=shares)


def _writer_share(index: int) -> ImportReport:
    return _batches_write(run=_writer["run"], batches=_writer["shares"][index])


def _batches_write(*, run: _Run, batches: list[list[tuple[int, OrderInput]]]) -> ImportReport:
    """Write the batches in turn, each its own transaction: a run stopped midway keeps its finished batches, and
    the next run finds them in its comparison."""
    report = ImportReport()
    for part in batches:
        if part:
            report.add(atomic_retried(
                # A row committed between the batch's reads and its inserts (a member one of its addresses enrolled,
                # an order with one of its ids for a member outside the batch: the batch's own members' orders wait
                # for its locks) undoes the batch whole; read again, it finds them and goes on.
                lambda part=part: _batch_write(run=run, rows=part), attempts=BATCH_ATTEMPTS,
            ))  # fmt: skip
    return report


def _batch_write(*, run: _Run, rows: list[tuple[int, OrderInput]]) -> ImportReport:
    report = ImportReport()
    shop, programme, rules = run.shop, run.programme, run.rules
    people = {order.member.email: (order.member.first_name, order.member.last_name) for _n, order in rows}
    by_email, report.members_enrolled = members_enrol_many(people=people, source=Member.Source.IMPORT)
    members = {email: member.pk for email, member in by_email.items()}
    accounts = accounts_lock(member_ids=sorted(set(members.values())), create=True)
    # Read again under the locks: an order of these members the API recorded since the window's comparison is in
    # now (counted as already there), and none can come until this commits, as a live order locks its member first.
    known = orders_known(shop=shop, order_ids={order.order_id for _number, order in rows})
    fresh = _fresh_orders(rows=rows, known=known, report=report)
    if not fresh:
        return report
    used = earning_rules_used_many(member_ids=list(accounts), rules=rules)
    now = timezone.now()
    ledger = LedgerBatch(accounts=accounts, programme=programme, now=now)
    # Rows as tuples for COPY (_ORDER_COLUMNS, _RULE_USE_COLUMNS); a rule use names its order by position until the
    # orders are inserted.
    orders: list[tuple[Any, ...]] = []
    rule_lines: list[tuple[int, int, int, int]] = []
    # A tier's name once per batch, not per order (a translated field reads the active language each time).
    tier_names = {tier.pk: tier.name for tier in {account.tier for account in accounts.values()} if tier}
    for _number, order in sorted(fresh, key=lambda row: (members[row[1].member.email], row[1].occurred_at)):
        account = accounts[members[order.member.email]]
        member_id = account.member_id
        earning = earning_points(
            programme=programme, shop=shop, amount=order.amount, tax=order.tax, tier=account.tier,
            at=order.occurred_at, rules=rules, used=used[member_id], items=[item.as_line() for item in order.items],
            tier_name=tier_names.get(account.tier_id),
        )  # fmt: skip
        if earning.points:
            ledger.add_row(
                member_id=member_id, kind=EntryKind.EARN, points=earning.points, tier_points=earning.tier_points,
                effective_at=order.occurred_at, detail={**earning.detail(), "source": "import"}, order=len(orders),
            )  # fmt: skip
            for line in earning.rules:
                if line.points:
                    used[member_id][line.rule_id] = used[member_id].get(line.rule_id, 0) + line.points
                    rule_lines.append((line.rule_id, member_id, len(orders), line.points))
        outcome = OrderOutcome(
            order_id=order.order_id, member_id=str(by_email[order.member.email].public_id),
            points_awarded=earning.points, balance=account.balance, tier=tier_names.get(account.tier_id),
        )  # fmt: skip
        orders.append((
            shop.pk, order.order_id, member_id, order.amount, order.tax, order.currency, order.occurred_at,
            OrderSource.IMPORT, [item.as_json() for item in order.items], order.fingerprint(), earning.points,
            earning.tier_points, account.tier_id, outcome.as_data(), now,
        ))  # fmt: skip
        report.imported += 1
        report.points += earning.points
    order_ids = tuples_insert(Order, _ORDER_COLUMNS, orders)
    ledger.insert(order_ids=order_ids)  # the review counts the batch's entries
    _touched, moves = run.rule.review_many(list(accounts.values()))
    ledger.save(account_fields=["tier", "tier_since", "below_tier_since"])
    uses = [(rule, member, order_ids[position], points) for rule, member, position, points in rule_lines]
    tuples_insert(EarningRuleUse, _RULE_USE_COLUMNS, uses)
    # History keeps the moves; an import sends nothing (no webhooks, no messages).
    emit(*(replace(move, notify=False) for move in moves))
    return report


_ORDER_COLUMNS = (
    "shop_id", "external_id", "member_id", "amount", "tax", "currency", "occurred_at", "source", "items", "fingerprint",
    "points_awarded", "tier_points_awarded", "tier_id", "response", "created_at",
)  # fmt: skip
_RULE_USE_COLUMNS = ("rule_id", "member_id", "order_id", "points")


def _fresh_orders(
    *, rows: list[tuple[int, OrderInput]], known: dict[str, str], report: ImportReport
) -> list[tuple[int, OrderInput]]:
    """The rows not reported before (``known``: order id -> fingerprint, which this fills in with the rows' own, so
    that a later line with the same id is compared with the first): replays are counted, conflicting reuses of an
    order id are errors."""
    fresh = []
    for number, order in rows:
        prior = known.get(order.order_id)
        if prior is None:
            known[order.order_id] = order.fingerprint()
            fresh.append((number, order))
        elif prior == order.fingerprint():
            report.already += 1
        else:
            message = f"Order {order.order_id} was already reported with different data."
            report.errors.append((number, "idempotency_conflict", message, "order_id"))
    return fresh


def orders_known(*, shop: Shop, order_ids: Collection[str]) -> dict[str, str]:
    """The shop's recorded orders among ``order_ids``: order id -> fingerprint.

    On PostgreSQL one statement: the ids go into a temporary table by COPY, instead of a parameter per id (tens of
    thousands of them, which psycopg and Django spend longer building than the server spends looking up), and each
    is looked up in the orders' unique (shop, order id) index. A lookup per id, not a join: while the orders table
    has no statistics (an import fills it faster than autovacuum analyses it) the planner took the shop's orders
    for a few hundred rows and hashed all of them for every call, a scan of the whole table per batch. Elsewhere
    an ``IN`` query per thousand ids."""
    if connection.vendor != "postgresql":
        ids, known = list(order_ids), {}
        for start in range(0, len(ids), 1000):
            known.update(
                Order.objects.filter(shop=shop, external_id__in=ids[start : start + 1000]).values_list(
                    "external_id", "fingerprint"
                )
            )
        return known
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {_IDS_TABLE} (external_id varchar(100) NOT NULL)")
        cursor.execute(f"TRUNCATE {_IDS_TABLE}")
        with cursor.cursor.copy(f"COPY {_IDS_TABLE} (external_id) FROM STDIN") as copy:
            for order_id in order_ids:
                copy.write_row((order_id,))
        cursor.execute(f"ANALYZE {_IDS_TABLE}")  # the planner's row count
        cursor.execute(  # LIMIT 1 (the index is unique) keeps the subquery a lookup per id: it cannot become a join
            f"SELECT i.external_id, o.fingerprint FROM {_IDS_TABLE} AS i CROSS JOIN LATERAL (SELECT fingerprint "
            "FROM loyalty_order AS o WHERE o.shop_id = %s AND o.external_id = i.external_id LIMIT 1) AS o",
            [shop.pk],
        )
        return dict(cursor.fetchall())
