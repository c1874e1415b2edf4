"""The JSON parser that refuses oversized bodies, and the body-size helpers it shares with inbound webhooks.

Kept apart from ``errors``: DRF imports ``LimitedJSONParser`` (``DEFAULT_PARSER_CLASSES``) while defining
``APIView``, and ``errors`` imports ``rest_framework.views``; this module imports no view.
"""

from __future__ import annotations

import json
from typing import Any

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
