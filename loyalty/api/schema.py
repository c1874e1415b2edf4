"""drf-spectacular helpers for the shop API: error responses, paged lists, and additions to the generated schema
that hold for every operation (``add_throttled_response``, a ``POSTPROCESSING_HOOKS`` entry; ``ScopedAutoSchema``,
the ``DEFAULT_SCHEMA_CLASS``, which says each operation's API key scope). A rule no single field states, one of
some fields at least, is in the schema too (``AtLeastOneOfExtension``, and ``require_bodies_that_need_a_field``
among the hooks)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from loyalty.api.errors import ErrorSerializer
from loyalty.api.serializers.fields import AtLeastOneOf
from loyalty.shops.auth import view_scope


def error_response(description: str, code: str, message: str, field: str | None = None) -> OpenApiResponse:
    """An error answer, documented with one example of its ``{"code", "message", "field"}`` body."""
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"code": code, "message": message, "field": field})],
    )


UNAUTHORIZED = error_response(
    "Missing or invalid API key.", "invalid_api_key", "The API key is not valid, or it was revoked."
)
BAD_REQUEST = error_response("Malformed JSON or invalid fields.", "required", "This field is required.", "amount")
TOO_LARGE = error_response(
    "The body is over the size limit.", "body_too_large", "The request body is larger than 262144 bytes."
)

PAGE_NOT_FOUND = error_response("The page is past the last one.", "not_found", "Invalid page.")
PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="1 for the first page."),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1}, description="Up to 200; a larger number gives 200."
    ),
]


def paginated(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """A page of a list, as every list in this API answers (see ``loyalty.api.pagination.Pagination``)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(help_text="How many there are in all."),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


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


def require_bodies_that_need_a_field(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """A request body whose schema demands at least one of its fields (an ``anyOf``, see ``AtLeastOneOfExtension``)
    cannot be left out, though drf-spectacular calls a body required only when one of its fields is."""
    components = result.get("components", {}).get("schemas", {})
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            body = operation.get("requestBody", {})
            for content in body.get("content", {}).values():
                name = content.get("schema", {}).get("$ref", "").rpartition("/")[2]
                if "anyOf" in components.get(name, {}):
                    body["required"] = True
    return result


def add_throttled_response(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Every operation counts against the key's rate limit, so every operation may answer 429."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            operation.setdefault("responses", {}).setdefault("429", THROTTLED)
    return result


def scope_missing_response(scope: str) -> dict[str, Any]:
    """The 403 every operation may answer: the key lacks the scope it needs."""
    return {
        "description": f"This API key does not have the scope `{scope}` (`scope_missing`).",
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/Error"},
                "examples": {
                    "scope_missing": {
                        "value": {
                            "code": "scope_missing",
                            "message": f"This API key does not have the scope {scope}.",
                            "field": None,
                        },
                    }
                },
            }
        },
    }


class ScopedAutoSchema(AutoSchema):
    """Every operation's description ends with the API key scope it needs (the view's ``required_scope``), which
    is also in ``x-klubb-scope``, and it may answer 403 ``scope_missing``."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        scope = view_scope(self.view, self.method)
        if operation is None or scope is None:
            return operation
        needs = f"API key scope: `{scope}`."
        operation["description"] = f"{operation['description']}\n\n{needs}" if operation.get("description") else needs
        operation["x-klubb-scope"] = scope
        operation.setdefault("responses", {}).setdefault("403", scope_missing_response(scope))
        return operation


class AtLeastOneOfExtension(OpenApiSerializerExtension):
    """An ``AtLeastOneOf`` serializer's input says which fields it needs one of: ``anyOf`` them, each present and,
    unless a boolean, not blank. A client (and the fuzzer) knows that ``{}`` is refused before sending it."""

    target_class = AtLeastOneOf
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: Any) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        if direction == "request":
            properties = schema["properties"]
            schema["anyOf"] = [
                {"required": [name]}
                if properties[name].get("type") == "boolean"
                else {"required": [name], "properties": {name: {"minLength": 1}}}
                for name in self.target.at_least_one_of
            ]
        return schema
