"""What the club holds about a member: the export ("download my data") and the erasure ("delete my account").

``members`` knows only people. Other apps (``loyalty``) register an exporter and an eraser here in their
``AppConfig.ready`` so that their data is in the export and their personal fields are wiped too, without
``members`` importing them (CONVENTIONS.md: dependencies point one way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from members.models import Member

Exporter = Callable[[Member], dict[str, Any]]
Eraser = Callable[[Member], None]

_exporters: dict[str, Exporter] = {}
_erasers: dict[str, Eraser] = {}


def register(*, name: str, exporter: Exporter, eraser: Eraser) -> None:
    """Add an app's part of the export (under ``name``) and its eraser, run inside the erasure's transaction."""
    _exporters[name] = exporter
    _erasers[name] = eraser


def exporters() -> dict[str, Exporter]:
    return dict(_exporters)


def erasers() -> dict[str, Eraser]:
    return dict(_erasers)
