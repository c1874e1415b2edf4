"""Server-side SVG charts for the staff dashboard: the geometry here, the markup in the template. No CDN, no JS."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WIDTH, HEIGHT, PAD = 640, 220, 30


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
    points: str  # for <polyline points="...">
    first: str
    last: str
    top: int


def _scale(value: float, top: float) -> float:
    return (HEIGHT - 2 * PAD) * value / top if top else 0


def line_chart(series: list[tuple[dt.date, int]]) -> LineChart:
    top = max((value for _day, value in series), default=0) or 1
    step = (WIDTH - 2 * PAD) / max(len(series) - 1, 1)
    coords = [f"{PAD + i * step:.1f},{HEIGHT - PAD - _scale(value, top):.1f}" for i, (_day, value) in enumerate(series)]
    if len(coords) == 1:
        coords.append(f"{WIDTH - PAD:.1f},{coords[0].split(',')[1]}")
    return LineChart(
        points=" ".join(coords),
        first=series[0][0].isoformat() if series else "",
        last=series[-1][0].isoformat() if series else "",
        top=top,
    )


FLOW_COLOURS = ("#2e7d32", "#1565c0", "#c62828")  # issued, redeemed, expired


def flow_bars(series: list[tuple[dt.date, int, int, int]]) -> list[Bar]:
    """Three bars per date: points issued, redeemed and expired."""
    top = max((max(values) for _day, *values in series), default=0) or 1
    slot = (WIDTH - 2 * PAD) / max(len(series), 1)
    width = slot / 4
    bars = []
    for index, (day, *values) in enumerate(series):
        for offset, (value, colour) in enumerate(zip(values, FLOW_COLOURS, strict=True)):
            height = _scale(value, top)
            x = PAD + index * slot + offset * width + width / 2
            bars.append(Bar(x, HEIGHT - PAD - height, width, height, colour, day.isoformat(), value))
    return bars


def distribution_bars(items: list[tuple[str, str, int]]) -> list[Bar]:
    """One bar per tier, in the tier's colour."""
    top = max((count for _name, _colour, count in items), default=0) or 1
    slot = (WIDTH - 2 * PAD) / max(len(items), 1)
    return [
        Bar(PAD + i * slot + slot * 0.15, HEIGHT - PAD - _scale(n, top), slot * 0.7, _scale(n, top), colour, name, n)
        for i, (name, colour, n) in enumerate(items)
    ]
