"""How the API answers a recording (an order, a refund, an event): what it gave, as the service's outcome data."""

from __future__ import annotations

from typing import Any, Protocol

from rest_framework import status
from rest_framework.response import Response


class Outcome(Protocol):
    def as_data(self) -> dict[str, Any]: ...


class Recorded(Protocol):
    created: bool

    @property
    def outcome(self) -> Outcome: ...


def recorded_reply(result: Recorded) -> Response:
    """201 with what recording gave; a replay answers 200 with the same body, stored when it was first recorded
    (the ``*ResultSerializer`` of each resource documents it)."""
    return Response(result.outcome.as_data(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
