"""Server-side SVG charts for the staff dashboard: the geometry here, the markup in the template. No CDN, no JS.

Every chart has a y axis with round ticks and grid lines, an x axis with dates (or tier names) under it, and a
title for the y axis; the template draws them from ``Axes``.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from django.utils import dateformat

WIDTH, HEIGHT = 720, 320
NARROW = 360  # the width of the phone version of each chart, drawn with fewer dates under it
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 56  # the plot area's margins: room for the axes' labels


def _labels(width: int) -> int:
    """At most this many dates under a time axis of ``width``."""
    return 5 if width > NARROW else 3


@dataclass(frozen=True)
class Tick:
    position: float  # y for the value axis, x for the category axis
    label: str


@dataclass(frozen=True)
class Axes:
    width: int
    height: int
    left: int
    right: int  # x of the plot area's right edge
    top: int
    bottom: int  # y of the plot area's bottom edge (the x axis)
    y_ticks: list[Tick]
    x_ticks: list[Tick]


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str
    value: int


@dataclass(frozen=True)
class LineChart:
    axes: Axes
    points: str  # for <polyline points="...">
    first: str
    last: str
    top: int


@dataclass(frozen=True)
class BarChart:
    axes: Axes
    bars: list[Bar]


def nice_top(value: float) -> tuple[int, int]:
    """A round top for an axis at or above ``value`` and the step between four or five ticks (1, 2 or 5 x 10^n)."""
    if value <= 0:
        return 4, 1
    raw = value / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    step = max(int(step), 1)
    return step * math.ceil(value / step), step


def _axes(top: int, step: int, x_ticks: list[Tick], width: int) -> Axes:
    bottom = HEIGHT - BOTTOM
    y_ticks = [
        Tick(round(bottom - (bottom - TOP) * value / top, 1), f"{value:,}".replace(",", "\u202f"))
        for value in range(0, top + 1, step)
    ]
    return Axes(width, HEIGHT, LEFT, width - RIGHT, TOP, bottom, y_ticks, x_ticks)


def _y(value: float, top: int) -> float:
    bottom = HEIGHT - BOTTOM
    return round(bottom - (bottom - TOP) * value / top, 1)


def _date_label(day: dt.date, monthly: bool) -> str:
    """ "Nov 2026" or "24 Nov", in the page's language."""
    return dateformat.format(day, "M Y" if monthly else "j M")


def _monthly(days: list[dt.date]) -> bool:
    return len(days) > 1 and all(day.day == 1 for day in days) and (days[1] - days[0]).days > 1


def _time_ticks(days: list[dt.date], position: list[float], width: int) -> list[Tick]:
    """A few dates, evenly spread, always the first and the last."""
    if not days:
        return []
    count = min(len(days), _labels(width))
    indexes = sorted({round(i * (len(days) - 1) / max(count - 1, 1)) for i in range(count)})
    monthly = _monthly(days)
    return [Tick(round(position[i], 1), _date_label(days[i], monthly)) for i in indexes]


def line_chart(series: list[tuple[dt.date, int]], width: int = WIDTH) -> LineChart:
    top, step = nice_top(max((value for _day, value in series), default=0))
    inner = width - RIGHT - LEFT
    slot = inner / max(len(series) - 1, 1)
    xs = [LEFT + i * slot for i in range(len(series))] if len(series) > 1 else [LEFT + inner / 2]
    coords = [f"{x:.1f},{_y(value, top):.1f}" for x, (_day, value) in zip(xs, series, strict=True)]
    days = [day for day, _value in series]
    return LineChart(
        axes=_axes(top, step, _time_ticks(days, xs, width), width),
        points=" ".join(coords),
        first=days[0].isoformat() if days else "",
        last=days[-1].isoformat() if days else "",
        top=top,
    )


FLOW_COLOURS = ("#2e7d32", "#1565c0", "#c62828")  # issued, redeemed, expired


def flow_bars(series: list[tuple[dt.date, int, int, int]], width: int = WIDTH) -> BarChart:
    """Three bars per date: points issued, redeemed and expired."""
    top, step = nice_top(max((max(values) for _day, *values in series), default=0))
    inner = width - RIGHT - LEFT
    slot = inner / max(len(series), 1)
    bar_width = slot * 0.8 / 3
    bars, centres = [], []
    for index, (day, *values) in enumerate(series):
        centres.append(LEFT + index * slot + slot / 2)
        for offset, (value, colour) in enumerate(zip(values, FLOW_COLOURS, strict=True)):
            y = _y(value, top)
            x = LEFT + index * slot + slot * 0.1 + offset * bar_width
            bars.append(
                Bar(round(x, 1), y, round(bar_width, 1), round(HEIGHT - BOTTOM - y, 1), colour, day.isoformat(), value)
            )
    ticks = _time_ticks([day for day, *_v in series], centres, width)
    return BarChart(axes=_axes(top, step, ticks, width), bars=bars)


def distribution_bars(items: list[tuple[str, str, int]], width: int = WIDTH) -> BarChart:
    """One bar per tier, in the tier's colour, its name under it."""
    top, step = nice_top(max((count for _name, _colour, count in items), default=0))
    inner = width - RIGHT - LEFT
    slot = inner / max(len(items), 1)
    bars = [
        Bar(
            round(LEFT + i * slot + slot * 0.2, 1),
            _y(n, top),
            round(slot * 0.6, 1),
            round(HEIGHT - BOTTOM - _y(n, top), 1),
            colour,
            name,
            n,
        )
        for i, (name, colour, n) in enumerate(items)
    ]
    ticks = [Tick(round(LEFT + i * slot + slot / 2, 1), name) for i, (name, _colour, _n) in enumerate(items)]
    return BarChart(axes=_axes(top, step, ticks, width), bars=bars)
