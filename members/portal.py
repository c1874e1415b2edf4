"""A small registry through which ``loyalty`` supplies the portal with a member's standing.

``members`` must not import ``loyalty`` (CONVENTIONS.md: dependencies point one way), yet the
portal shows points. ``loyalty`` registers a provider in its ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from members.models import Member

StandingProvider = Callable[[Member], dict[str, Any]]
_providers: list[StandingProvider] = []


def register_standing_provider(provider: StandingProvider) -> None:
    if provider not in _providers:
        _providers.append(provider)


def standing_context(member: Member) -> dict[str, Any]:
    context: dict[str, Any] = {}
    for provider in _providers:
        context.update(provider(member))
    return context
