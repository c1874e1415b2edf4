"""One shape for every API error: ``{"code", "message", "field"}`` with a stable ``code``.

Domain errors (``loyalty.errors.LoyaltyError``) know nothing of HTTP. ``ERROR_STATUS`` here is the one mapping
from their stable ``code`` to the HTTP status the API answers with; ``error_status`` reads it for the exception
handler and for anything else that renders a domain error over HTTP. An app whose errors are not defined in
``loyalty`` (referrals) adds its codes with ``error_status_register`` from its ``AppConfig.ready``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from loyalty.api.parsers import PayloadTooLarge
from loyalty.errors import LoyaltyError, MemberNotMatched

DEFAULT_ERROR_STATUS = 400

# Stable error code -> HTTP status. A code missing here answers with the status of the nearest base class's code
# (every ``referral_*`` refusal is a ``referral_refused``), and at worst ``loyalty_error``'s 400.
ERROR_STATUS: dict[str, int] = {
    "loyalty_error": DEFAULT_ERROR_STATUS,
    # API keys
    "scope_missing": 403,
    # Orders, refunds and members
    "idempotency_conflict": 409,
    "member_not_found": 404,
    "member_erased": 404,
    "member_not_enrollable": 422,
    "phone_in_use": 409,
    "member_not_customer": 409,
    "currency_mismatch": 422,
    "amount_out_of_range": 422,
    "order_not_found": 404,
    "refund_exceeds_order": 422,
    "nothing_left_to_refund": 422,
    "unknown_return_reason": 400,
    "returned_item_not_in_order": 422,
    "return_exceeds_ordered": 422,
    "tax_exceeds_amount": 422,
    "occurred_in_future": 422,
    # Points
    "insufficient_points": 422,
    "invalid_points": 422,
    "reason_required": 422,
    "adjustment_over_limit": 403,
    # Rewards and vouchers
    "reward_unavailable": 409,
    "reward_out_of_stock": 409,
    "reward_limit_reached": 409,
    "tier_not_allowed": 409,
    "voucher_not_found": 404,
    "voucher_already_used": 409,
    "voucher_cancelled": 409,
    "voucher_expired": 409,
    "voucher_not_cancellable": 409,
    # Points spent at a checkout
    "below_minimum": 422,
    "not_a_step": 422,
    "exceeds_order_share": 422,
    "redemption_not_found": 404,
    "redemption_captured": 409,
    "redemption_released": 409,
    # Points for actions
    "unknown_event_type": 422,
    # The storefront widget
    "storefront_unknown": 404,
    "identity_refused": 401,
}


def error_status_register(code: str, status: int) -> None:
    """Say which HTTP status the API answers a domain error ``code`` with (for apps above ``loyalty``).

    Registering a code again with the same status changes nothing; with another status it is a mistake.
    """
    known = ERROR_STATUS.get(code)
    if known is not None and known != status:
        raise ValueError(f"Error code {code!r} already answers with HTTP {known}, not {status}.")
    ERROR_STATUS[code] = status


# Where one code means two things over HTTP: a member the path names not existing is 404, a member the body
# names matching nobody is 422 (the request is well-formed and about nothing).
ERROR_CLASS_STATUS: dict[type[LoyaltyError], int] = {MemberNotMatched: 422}


def error_status(error: LoyaltyError) -> int:
    """The HTTP status for a domain error: its class's where ``ERROR_CLASS_STATUS`` names it, else its code's,
    else that of the nearest base class's code."""
    if (status := ERROR_CLASS_STATUS.get(type(error))) is not None:
        return status
    codes = [error.code, *(vars(cls)["code"] for cls in type(error).__mro__ if "code" in vars(cls))]
    return next((ERROR_STATUS[code] for code in codes if code in ERROR_STATUS), DEFAULT_ERROR_STATUS)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="The offending field, dotted for nested ones.")


# The code the API gives DRF's own exceptions.
DRF_ERROR_CODES = {
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
    """``EXCEPTION_HANDLER``: every error the API answers, in one shape."""
    if isinstance(exc, LoyaltyError):
        return Response(error_body(exc.code, exc.message, exc.field), status=error_status(exc))
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
    code = next((c for cls, c in DRF_ERROR_CODES.items() if isinstance(exc, cls)), None)
    if code is None:
        detail_code = getattr(getattr(exc, "detail", None), "code", None)
        code = detail_code if isinstance(detail_code, str) else "error"
    response.data = error_body(code, str(getattr(exc, "detail", exc)), None)
    return response
