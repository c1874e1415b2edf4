"""The dashboard's shapes: a period, a figure against the period before, a table (which downloads as CSV), the
accounting view of the points liability, and the board that holds them all."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class Period:
    start: dt.datetime
    end: dt.datetime

    @classmethod
    def from_dates(cls, *, first: dt.date, last: dt.date) -> Period:
        """The days ``first`` to ``last`` inclusive, in the club's time zone."""
        zone = timezone.get_current_timezone()
        start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
        return cls(start=start, end=end)

    @property
    def previous(self) -> Period:
        return Period(start=self.start - (self.end - self.start), end=self.start)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    current: Any
    previous: Any

    @property
    def change(self) -> Decimal | None:
        """Relative change in percent, or None when there is nothing to compare with."""
        if not isinstance(self.current, int | Decimal) or not self.previous:
            return None
        return (Decimal(self.current) - Decimal(self.previous)) * 100 / Decimal(self.previous)


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    header: list[str]
    rows: list[list[Any]]
    shown: int | None = None  # the page shows the first this many rows (the CSV has them all); None: all

    @property
    def visible_rows(self) -> list[list[Any]]:
        return self.rows if self.shown is None else self.rows[: self.shown]

    @property
    def hidden(self) -> int:
        """Rows the page leaves out (the CSV has them)."""
        return len(self.rows) - len(self.visible_rows)


@dataclass(frozen=True)
class Accounting:
    """The points liability at the period's end and what the programme's own history says of it."""

    currency: str
    point_value: Decimal
    outstanding: int
    liability: Decimal  # outstanding points x point value
    breakage: Decimal | None  # percent of issued points expected never to be used; None: no history yet
    deferred_revenue: Decimal  # liability x (1 - breakage)
    cohorts: int  # months of issue the breakage is estimated from


@dataclass(frozen=True)
class Dashboard:
    period: Period
    previous: Period
    figures: list[Figure]
    tables: list[Table]
    accounting: Accounting
    members_series: list[tuple[dt.date, int]] = field(default_factory=list)
    points_series: list[tuple[dt.date, int, int, int]] = field(default_factory=list)
    tier_distribution: list[tuple[str, str, int]] = field(default_factory=list)
    # Shops report an order only with the member it earns for (every customer an order names is enrolled).
    others_reported: bool = False

    def table(self, key: str) -> Table | None:
        return next((table for table in self.tables if table.key == key), None)

    def tables_of(self, *keys: str) -> list[Table]:
        return [table for key in keys if (table := self.table(key)) is not None]


def ratio(part: int | Decimal, whole: int | Decimal) -> Decimal:
    """``part`` as a percentage of ``whole``, one decimal (0 when ``whole`` is 0)."""
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1")) if whole else Decimal("0")
