"""Importing an order history file: ``orders_import`` over its rows, after a check of its lines on both cores.

A second run of a file (or a run finishing a stopped one) finds most of its orders recorded already. Each line
must still be read and fingerprinted, since a known order id with other data is a conflict to report, and in
one process that reading is the whole run. So, for JSON lines on PostgreSQL with several writers, when the
file's first lines are recorded orders, forked processes first read the file each over its own byte range,
compare their lines' fingerprints with the recorded ones a chunk at a time (``orders_known``) and send back only
the numbers of the lines that replay a recorded order with the same data. Those are counted as already there and
not read again; every other line (new, in conflict, refused) goes through ``orders_import`` as before, so the
report is the same as without the check. A first import (its first lines unknown) skips the check.
"""

from __future__ import annotations

import itertools
from array import array
from pathlib import Path
from typing import Any

from django.db import connection, connections

from config.bulk import forked_imap
from loyalty.errors import LoyaltyError
from loyalty.models import Programme, Shop
from loyalty.orders.imports import BATCH, ImportReport, order_line_read, order_rows_read, orders_import, orders_known
from loyalty.orders.record import order_validate
from loyalty.orders.types import OrderInput

CHECK_CHUNK = 50_000  # lines a checking process compares with the recorded orders at once
PROBE_LINES = 1000  # the first lines that tell whether the file was imported before
_SCAN = 1 << 22  # bytes read at once while cutting the file into ranges


def orders_import_file(*, shop: Shop, path: Path, format: str, batch: int = BATCH, writers: int = 1) -> ImportReport:
    """Import the file at ``path`` (``csv`` or ``jsonl``) as ``orders_import`` does, with ``writers`` processes;
    see the module's docstring for the check that lets a second run skip the lines it has nothing to do with."""
    replayed: array[int] | list[int] = []
    if (
        format == "jsonl" and writers > 1 and connection.vendor == "postgresql" and not connection.in_atomic_block
        and _imported_before(shop=shop, path=path)
    ):  # fmt: skip
        ranges = line_ranges(path, parts=writers)
        if ranges is not None:
            replayed = _replays_find(shop=shop, path=path, ranges=ranges)
    with path.open(newline="", encoding="utf-8") as stream:
        rows = order_rows_read(stream, format=format, skip=frozenset(replayed))
        report = orders_import(shop=shop, rows=rows, batch=batch, writers=writers)
    report.already += len(replayed)
    return report


def _imported_before(*, shop: Shop, path: Path) -> bool:
    """Whether any of the file's first ``PROBE_LINES`` orders is recorded (by id)."""
    with path.open(newline="", encoding="utf-8") as stream:
        rows = (order_line_read(line) for line in itertools.islice(stream, PROBE_LINES) if line.strip())
        ids = {row.order_id for row in rows if isinstance(row, OrderInput)}
    return bool(ids) and bool(orders_known(shop=shop, order_ids=ids))


def line_ranges(path: Path, *, parts: int) -> list[tuple[int, int, int]] | None:
    """The file cut into at most ``parts`` ranges of whole lines, of about equal size: ``(first byte, end byte,
    number of the range's first line)``. ``None`` when the file holds a carriage return: text mode counts a lone
    one as a line end, a count of newlines would not, and the line numbers must be the ones ``order_rows_read``
    gives."""
    size = path.stat().st_size
    targets = [size * part // parts for part in range(1, parts)]
    starts, numbers = [0], [1]
    position, ends_before = 0, 0  # bytes read, line ends among them
    with path.open("rb") as stream:
        while chunk := stream.read(_SCAN):
            if b"\r" in chunk:
                return None
            while targets and targets[0] < position + len(chunk):
                at = chunk.find(b"\n", max(targets[0] - position, 0))
                if at < 0:  # the line goes on into the next chunk: cut at its end there
                    targets[0] = position + len(chunk)
                    break
                targets.pop(0)
                start = position + at + 1
                if starts[-1] < start < size:
                    starts.append(start)
                    numbers.append(ends_before + chunk.count(b"\n", 0, at + 1) + 1)
            ends_before += chunk.count(b"\n")
            position += len(chunk)
    return [(start, end, number) for start, end, number in zip(starts, [*starts[1:], size], numbers, strict=True)]


def _replays_find(*, shop: Shop, path: Path, ranges: list[tuple[int, int, int]]) -> array[int]:
    """The numbers of the lines that replay a recorded order with the same data, found by a forked process per
    range (each with its own connection)."""
    programme = Programme.load()
    connections.close_all()  # each process opens its own (nothing may open the parent's again before the fork)
    found: array[int] = array("q")
    for lines in forked_imap(_range_replays, ranges, processes=len(ranges), initializer=_checker_start,
                             initargs=(shop, programme, path)):  # fmt: skip
        found.frombytes(lines)
    return found


_checker: dict[str, Any] = {}  # a forked checking process's shop, programme and file (``_checker_start``)


def _checker_start(shop: Shop, programme: Programme, path: Path) -> None:
    _checker.update(shop=shop, programme=programme, path=path)


def _range_replays(line_range: tuple[int, int, int]) -> bytes:
    """The numbers of the range's lines that replay a recorded order, as the bytes of an ``array("q")`` (a million
    numbers cost little to send back that way). A line that cannot be read, or is refused, is not one of them: the
    import reads it again and reports it."""
    shop, programme = _checker["shop"], _checker["programme"]
    start, end, number = line_range
    found: array[int] = array("q")
    chunk: list[tuple[int, str, str]] = []  # (line number, order id, fingerprint)
    with open(_checker["path"], "rb") as stream:
        stream.seek(start)
        position = start
        for raw in stream:
            if position >= end:
                break
            position += len(raw)
            line = raw.decode("utf-8", errors="replace")  # an undecodable line is not a replay: the import says why
            row = order_line_read(line) if line.strip() else None
            if (
                isinstance(row, OrderInput)
                and "\ufffd" not in line
                and _valid(shop=shop, programme=programme, order=row)
            ):
                chunk.append((number, row.order_id, row.fingerprint()))
            number += 1
            if len(chunk) >= CHECK_CHUNK:
                _chunk_compare(shop=shop, chunk=chunk, found=found)
                chunk = []
    _chunk_compare(shop=shop, chunk=chunk, found=found)
    return found.tobytes()


def _valid(*, shop: Shop, programme: Programme, order: OrderInput) -> bool:
    try:
        order_validate(shop=shop, programme=programme, order=order)
    except LoyaltyError:
        return False
    return True


def _chunk_compare(*, shop: Shop, chunk: list[tuple[int, str, str]], found: array[int]) -> None:
    if chunk:
        known = orders_known(shop=shop, order_ids={order_id for _number, order_id, _print in chunk})
        found.extend(number for number, order_id, fingerprint in chunk if known.get(order_id) == fingerprint)
