"""Reading a file of opening balances: its columns (Klubb's own, or another programme's export by name), and
each line as a ``BalanceRow`` or the reason it cannot be one (``Refusal``), with a stable code.

Columns (Klubb's names; a preset maps another programme's export onto them, see ``COLUMN_PRESETS``):
``email``, ``phone`` and ``external_id`` (at least one of them on every line), ``points`` (a whole number, 0 or
more), ``tier`` (a tier's name, in any of the club's languages; optional) and ``expires_at`` (when the points
expire: a date, or an ISO 8601 time with its offset; empty: the programme's rule).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from members.emails import email_canonical
from members.phones import normalize_phone

FIELDS = ("email", "phone", "external_id", "points", "tier", "expires_at")
IDENTIFIERS = ("email", "phone", "external_id")
MAX_POINTS = 1_000_000_000

# Klubb field -> the column holding it in each programme's file. Sources (README "Moving from another
# programme"): Smile.io's help centre ("Import points with a CSV file": the headers ``email`` and ``points``)
# and LoyaltyLion's API customer object (``merchant_id``, ``email``, ``points_approved``). Neither names the
# columns of its dashboard's customer export in public documentation we could find (LoyaltyLion lets each
# merchant rename them), so check the file's header and rename columns that differ.
COLUMN_PRESETS: dict[str, dict[str, str]] = {
    "klubb": {name: name for name in FIELDS},
    "smile": {"email": "email", "points": "points"},
    "loyaltylion": {"email": "email", "external_id": "merchant_id", "points": "points_approved"},
}


@dataclass(frozen=True)
class Refusal:
    """A line that was not imported: its number, a stable ``code``, a message for people, the column."""

    line: int
    code: str
    message: str
    field: str = ""


@dataclass(frozen=True)
class BalanceRow:
    line: int
    email: str
    phone: str
    external_id: str
    points: int
    tier: str
    expires_at: dt.datetime | None


class HeaderError(Exception):
    """The file cannot be read as opening balances at all (its header lacks a column)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def balance_rows_read(stream: IO[str], *, columns: Mapping[str, str]) -> Iterator[BalanceRow | Refusal]:
    """Each data line of a CSV file as a ``BalanceRow`` or a ``Refusal``. ``columns`` maps Klubb's fields to the
    file's headers (``COLUMN_PRESETS``); headers compare without case or surrounding space. Reads the header
    at once: raises ``HeaderError`` (before any line is imported) when it lacks the points column or every
    identifier column."""
    reader = csv.reader(stream)
    header = [name.strip().lstrip("\ufeff").lower() for name in next(reader, [])]
    where = {field: header.index(name.lower()) for field, name in columns.items() if name.lower() in header}
    if "points" not in where:
        raise HeaderError("missing_column", _("The file has no %(column)s column.") % {"column": columns["points"]})
    if not any(field in where for field in IDENTIFIERS):
        names = ", ".join(columns[field] for field in IDENTIFIERS if field in columns)
        raise HeaderError("missing_column", _("The file needs one of these columns: %(columns)s.") % {"columns": names})
    return _rows(reader, where)


def _rows(reader: Iterator[list[str]], where: dict[str, int]) -> Iterator[BalanceRow | Refusal]:
    now = timezone.now()
    for line, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        cells = {field: values[index].strip() if index < len(values) else "" for field, index in where.items()}
        yield _row(line, cells, now=now)


def _row(line: int, cells: dict[str, str], *, now: dt.datetime) -> BalanceRow | Refusal:
    email, phone, external_id = cells.get("email", ""), cells.get("phone", ""), cells.get("external_id", "")
    if not (email or phone or external_id):
        return Refusal(line, "no_identifier", _("The line has no email, phone or customer id."))
    if email:
        email = email_canonical(email)
        local, _at, domain = email.rpartition("@")
        if not local or "." not in domain or len(email) > 254:
            return Refusal(line, "invalid_email", _("This is not an email address."), "email")
    if phone:
        try:
            phone = normalize_phone(phone)
        except ValidationError:
            return Refusal(line, "invalid_phone", _("This is not a phone number."), "phone")
    if len(external_id) > 100:
        return Refusal(line, "invalid_external_id", _("A customer id has at most 100 characters."), "external_id")
    raw_points = cells.get("points", "")
    if not raw_points.isascii() or not raw_points.isdigit() or int(raw_points) > MAX_POINTS:
        message = _("Points must be a whole number from 0 to %(max)s, without separators.") % {"max": MAX_POINTS}
        return Refusal(line, "invalid_points", message, "points")
    expires_at = None
    if raw_expiry := cells.get("expires_at", ""):
        expires_at = _expiry(raw_expiry)
        if expires_at is None or expires_at <= now:
            message = _("The expiry must be a date or a time with its offset, in the future.")
            return Refusal(line, "invalid_expiry", message, "expires_at")
    return BalanceRow(
        line=line, email=email, phone=phone, external_id=external_id, points=int(raw_points),
        tier=cells.get("tier", ""), expires_at=expires_at,
    )  # fmt: skip


def _expiry(value: str) -> dt.datetime | None:
    """A date (the points last through that day, in the club's time zone) or a time with its offset."""
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
