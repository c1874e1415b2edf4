"""Response headers that Django's SecurityMiddleware does not send, and JSON errors for the machine-facing paths."""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class PermissionsPolicyMiddleware:
    """Switch off browser features the club never uses (``settings.PERMISSIONS_POLICY``), on every response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.PERMISSIONS_POLICY:
            response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


# Paths whose callers are programs (the shop API, the platforms' and the SMS provider's webhooks).
JSON_ERROR_PATHS = ("/api/", "/hooks/", "/embed/v1/")
# The code and message of an error Django answered on its own (no view of ours wrote the body).
JSON_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    403: ("permission_denied", "You do not have permission to do this."),
    404: ("not_found", "There is nothing at this address."),
    405: ("method_not_allowed", 'Method "{method}" not allowed.'),
    413: ("body_too_large", "The request body is too large."),
    500: ("server_error", "Something went wrong on our side. It has been logged; try again later."),
}


class JsonErrorsMiddleware:
    """Every error under ``/api/`` and ``/hooks/`` is JSON ``{"code", "message", "field"}``, never a page.

    The API's own errors are JSON already (``loyalty.api.errors``), as are the webhooks'. This covers what Django
    answers by itself: an unknown address (404), a method a view does not take (405, with ``Allow``), a bad
    ``Host`` (400) and an exception no view caught (500, logged as usual; the traceback never leaves the
    server). Other paths keep their HTML error pages.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code < 400 or not request.path_info.startswith(JSON_ERROR_PATHS):
            return response
        if "json" in response.get("Content-Type", ""):
            return response
        return json_error_for(request, response)


def json_error_for(request: HttpRequest, response: HttpResponse) -> JsonResponse:
    """``response``'s error as JSON, with its status and headers (``Allow``, ``Retry-After``, ...)."""
    status = response.status_code
    code, message = JSON_ERRORS.get(status) or _generic(status)
    answer = JsonResponse(
        {"code": code, "message": message.format(method=request.method), "field": None}, status=status
    )
    for header, value in response.headers.items():
        if header.lower() not in ("content-type", "content-length"):
            answer.headers[header] = value
    answer.cookies = response.cookies
    return answer


def _generic(status: int) -> tuple[str, str]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return phrase.lower().replace(" ", "_").replace("-", "_"), f"{phrase}."
