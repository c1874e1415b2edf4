"""Shop API authentication: ``Authorization: Bearer <api key>``."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

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


class ApiKeyRateThrottle(SimpleRateThrottle):
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
