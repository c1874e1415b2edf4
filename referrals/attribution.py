"""Remembering which friend's link a visitor came through: a signed cookie (survives closing the browser)
and the session, for the programme's attribution window."""

from __future__ import annotations

from django.core.signing import BadSignature
from django.http import HttpRequest, HttpResponse

COOKIE = "klubb_ref"
SESSION_KEY = "referral_code"
_SALT = "klubb.referrals.attribution"


def attribution_remember(*, request: HttpRequest, response: HttpResponse, code: str, days: int) -> None:
    request.session[SESSION_KEY] = code
    response.set_signed_cookie(
        COOKIE, code, salt=_SALT, max_age=days * 24 * 3600, httponly=True, samesite="Lax", secure=request.is_secure()
    )


def attribution_code(*, request: HttpRequest, days: int) -> str:
    """The remembered code, or "" (a tampered or expired cookie counts as none)."""
    code = request.session.get(SESSION_KEY, "")
    if code:
        return code
    try:
        return request.get_signed_cookie(COOKIE, default="", salt=_SALT, max_age=days * 24 * 3600)
    except BadSignature:
        return ""


def attribution_forget(request: HttpRequest) -> None:
    request.session.pop(SESSION_KEY, None)
