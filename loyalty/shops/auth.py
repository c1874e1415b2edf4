"""Shop API authentication: ``Authorization: Bearer <api key>``, and what the key may do (its scopes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from config.throttling import FixedWindowRateThrottle
from loyalty.errors import ScopeMissing
from loyalty.models import ApiKey, Shop
from loyalty.shops import api_key_authenticate


class ShopClient:
    """``request.user`` for a shop calling the API: authenticated, but no person."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False

    def __init__(self, shop: Shop) -> None:
        self.shop = shop

    def __str__(self) -> str:
        return f"shop:{self.shop.slug}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[ShopClient, ApiKey] | None:
        header = get_authorization_header(request).split()
        if not header:
            return None
        if header[0].decode("latin-1").lower() != self.keyword.lower() or len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer <api key>'.")
        try:
            raw_key = header[1].decode("ascii")
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("The API key is not valid.") from exc
        key = api_key_authenticate(raw_key=raw_key)
        if key is None:
            raise exceptions.AuthenticationFailed("The API key is not valid, or it was revoked.")
        return ShopClient(key.shop), key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'


class IsShop(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return isinstance(request.auth, ApiKey)


def view_scope(view: Any, method: str) -> str | None:
    """The scope an API view needs for an HTTP method: its ``required_scope``, one ``ApiScope`` for every method
    or a mapping from method to scope (HEAD needs what GET needs). ``None`` when the view names none."""
    required = getattr(view, "required_scope", None)
    if isinstance(required, Mapping):
        required = required.get("GET" if method == "HEAD" else method)
    return str(required) if required else None


class HasScope(BasePermission):
    """The key must have the scope the view names for the method (``view_scope``); without it the answer is 403
    ``scope_missing`` naming the scope. An operation that names no scope is refused to every key, so a new view
    cannot be reached by accident. OPTIONS tells what the operation takes, nothing about members: any key may."""

    def has_permission(self, request: Request, view: Any) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False
        if request.method == "OPTIONS":
            return True
        scope = view_scope(view, request.method or "")
        if scope is None:
            return False
        if not key.has_scope(scope):
            raise ScopeMissing(scope)
        return True


class ApiKeyRateThrottle(FixedWindowRateThrottle):
    """Requests per API key, ``settings.KLUBB_API_RATE_LIMIT`` (read per request, so it can change in tests).

    Counted in the cache (shared Redis in production). Requests without a valid key never get this far:
    authentication and the permission check refuse them first.
    """

    scope = "api_key"

    def get_rate(self) -> str | None:
        return settings.KLUBB_API_RATE_LIMIT or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiKey):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


def request_shop(request: Request) -> Shop:
    """The shop whose key authenticated this request."""
    assert isinstance(request.auth, ApiKey)
    return request.auth.shop


def request_sees_all_members(request: Request) -> bool:
    """Whether this request's key sees every member of the club (``members:all``), not only its shop's customers."""
    assert isinstance(request.auth, ApiKey)
    return request.auth.sees_all_members


class ApiKeySchema(OpenApiAuthenticationExtension):
    """Describes the key authentication in the OpenAPI schema."""

    target_class = ApiKeyAuthentication
    name = "ApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "A shop API key: `Authorization: Bearer klb_…`."}


def phone_context(request: Request) -> dict[str, Any]:
    """Serializer context for input that may name a phone: numbers without a country code are the shop's
    country's (``PhoneField`` reads ``region``)."""
    return {"region": request_shop(request).country}
