"""One shape for every API error: ``{"code", "message", "field"}`` with a stable ``code``.

Also the JSON parser that refuses oversized bodies, and the pagination used by every list.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from loyalty.errors import LoyaltyError


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "body_too_large"


def read_limited_body(stream: Any, content_length: int | None) -> bytes:
    """Read a request body, refusing it once it passes the configured limit."""
    limit = settings.KLUBB_MAX_REQUEST_BODY_BYTES
    if content_length is not None and content_length > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    body = stream.read(limit + 1) if stream is not None else b""
    if len(body) > limit:
        raise PayloadTooLarge(f"The request body is larger than {limit} bytes.")
    return body


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, with a body size limit and a clear message for broken JSON."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        request = (parser_context or {}).get("request")
        raw_length = request.META.get("CONTENT_LENGTH") if request is not None else None
        content_length = int(raw_length) if raw_length and str(raw_length).isdigit() else None
        body = read_limited_body(stream, content_length)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}", code="malformed_json") from exc


class Pagination(PageNumberPagination):
    """DRF's page numbers, except that a ``page`` or ``page_size`` that is not a whole number from 1 is an error.

    DRF reads an empty ``page=`` as page 1 and a bad ``page_size`` as the default; a shop's broken paging loop
    should hear about it instead of fetching the first page forever.
    """

    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_page_message = "There is no page {page_number} in this list."

    def get_page_number(self, request: Any, paginator: Any) -> str | int:
        _whole_number_or_absent(request, self.page_query_param, "Give a page number from 1.")
        return super().get_page_number(request, paginator)

    def get_page_size(self, request: Any) -> int | None:
        _whole_number_or_absent(request, self.page_size_query_param, "Give a whole number from 1 to 200.")
        return super().get_page_size(request)


def _whole_number_or_absent(request: Any, name: str, message: str) -> None:
    raw = request.query_params.get(name)
    if raw is not None and not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
        raise exceptions.ValidationError({name: [exceptions.ErrorDetail(message, code="invalid")]})


STATUS_CODES = {
    exceptions.ParseError: "malformed_json",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "invalid_api_key",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    PayloadTooLarge: "body_too_large",
}


def error_body(code: str, message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, "field": field, **extra}


def flatten_errors(detail: Any, path: str = "") -> list[dict[str, Any]]:
    """Turn DRF's nested validation errors into a flat list of ``{code, message, field}``."""
    if isinstance(detail, dict):
        found = []
        for key, value in detail.items():
            name = "" if key in ("non_field_errors", settings.REST_FRAMEWORK.get("NON_FIELD_ERRORS_KEY")) else str(key)
            found += flatten_errors(value, f"{path}.{name}" if path and name else (name or path))
        return found
    if isinstance(detail, list):
        found = []
        for index, value in enumerate(detail):
            child = f"{path}.{index}" if isinstance(value, (dict, list)) else path
            found += flatten_errors(value, child)
        return found
    return [error_body(getattr(detail, "code", "invalid") or "invalid", str(detail), path or None)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES, which names this module.
    from rest_framework.views import exception_handler as drf_exception_handler

    if isinstance(exc, LoyaltyError):
        return Response(error_body(exc.code, exc.message, exc.field), status=exc.status)
    if isinstance(exc, RequestDataTooBig):
        # Django's own limit (DATA_UPLOAD_MAX_MEMORY_SIZE), hit when DRF reads a body that is not JSON.
        exc = PayloadTooLarge(f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.")
    elif isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        exc = exceptions.ParseError("The request has too many fields or files.")
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        first = errors[0] if errors else error_body("invalid", "Invalid input.")
        response.data = {**first, "errors": errors}
        return response
    code = next((c for cls, c in STATUS_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        detail_code = getattr(getattr(exc, "detail", None), "code", None)
        code = detail_code if isinstance(detail_code, str) else "error"
    response.data = error_body(code, str(getattr(exc, "detail", exc)), None)
    return response
