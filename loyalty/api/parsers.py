"""The JSON parser that refuses oversized bodies, and the body-size helpers it shares with inbound webhooks.

Kept apart from ``errors``: DRF imports ``LimitedJSONParser`` (``DEFAULT_PARSER_CLASSES``) while defining
``APIView``, and ``errors`` imports ``rest_framework.views``; this module imports no view.
"""

from __future__ import annotations

import json
import math
from typing import Any, NoReturn

from django.conf import settings
from rest_framework import exceptions, status
from rest_framework.parsers import JSONParser


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


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"The number {text[:20]} is too large")
    return value


def json_loads_strict(body: bytes | str) -> Any:
    """JSON as the standard says, which Python's ``json`` is laxer than: no ``NaN`` or ``Infinity``, no number
    too large for a float (``1e400``), and nesting no deeper than Python's recursion allows (``[`` x 100,000
    would otherwise raise ``RecursionError``, a 500). Raises ``ValueError`` (``UnicodeDecodeError`` is one)."""
    try:
        return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as exc:
        raise ValueError("The JSON is nested too deeply") from exc


class LimitedJSONParser(JSONParser):
    """DRF's JSON parser, with a body size limit and a clear message for broken JSON."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        request = (parser_context or {}).get("request")
        raw_length = request.META.get("CONTENT_LENGTH") if request is not None else None
        content_length = int(raw_length) if raw_length and str(raw_length).isdigit() else None
        body = read_limited_body(stream, content_length)
        try:
            return json_loads_strict(body.decode("utf-8"))
        except ValueError as exc:
            raise exceptions.ParseError(f"The body is not valid JSON: {exc}", code="malformed_json") from exc
