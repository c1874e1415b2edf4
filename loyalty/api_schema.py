"""Additions to the generated OpenAPI schema that hold for every operation of the shop API."""

from __future__ import annotations

from typing import Any

THROTTLED = {
    "description": "Over this API key's rate limit (`API_RATE_LIMIT`). Try again after `Retry-After` seconds.",
    "headers": {
        "Retry-After": {"schema": {"type": "integer", "minimum": 0}, "description": "Seconds until a retry may work."}
    },
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/Error"},
            "examples": {
                "throttled": {
                    "value": {"code": "throttled", "message": "Request was throttled.", "field": None},
                }
            },
        }
    },
}


def add_throttled_response(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every operation counts against the key's rate limit, so every operation may answer 429."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("429", THROTTLED)
    return result
