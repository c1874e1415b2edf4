"""The storefront widget's endpoints. Each path names the shop by its publishable key; a member is named only
by the token ``session`` gave for a verified identity (``Authorization: Bearer <token>``). No cookies."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.proxies import client_ip
from config.throttling import FixedWindowRateThrottle
from loyalty.embed.serializers import BadgesInputSerializer, ReserveInputSerializer, SessionInputSerializer
from loyalty.embed.summary import storefront_config, storefront_member_summary
from loyalty.errors import StorefrontUnknown, TokenInvalid
from loyalty.models import Storefront
from loyalty.orders import earning_badges
from loyalty.rewards import redemption_data, redemption_reserve
from loyalty.shops.storefront import (
    TOKEN_MAX_AGE,
    storefront_by_key,
    storefront_identity_verify,
    storefront_token_issue,
    storefront_token_member,
    storefront_token_public_id,
)
from members.models import Member

SCRIPT = "embed/klubb.js"


@require_GET
@cache_control(public=True, max_age=300)
def script(request: HttpRequest) -> HttpResponseRedirect:
    """``/embed/v1/klubb.js``: the stable address a theme uses, sent on to the built script's static file (with a
    content hash in its name in production, so browsers may keep it for a year)."""
    return HttpResponseRedirect(static(SCRIPT))


class EmbedRateThrottle(FixedWindowRateThrottle):
    """Requests per client address to a storefront's endpoints (``KLUBB_EMBED_RATE_LIMIT``)."""

    scope = "embed"

    def get_rate(self) -> str | None:
        return settings.KLUBB_EMBED_RATE_LIMIT or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


class StorefrontView(APIView):
    """A storefront's endpoint: the shop from the path's publishable key, the page's language from ``lang``.

    The widget's own contract with klubb.js, not the shop API: left out of the OpenAPI schema (README, "Storefront
    widget", describes them)."""

    schema = None
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (EmbedRateThrottle,)
    storefront: Storefront

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        languages = {code for code, _name in settings.LANGUAGES}
        language = request.GET.get("lang", "")[:2].lower()
        with translation.override(language if language in languages else translation.get_language()):
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        storefront = storefront_by_key(publishable_key=kwargs["key"])
        if storefront is None:
            raise StorefrontUnknown()
        self.storefront = storefront

    def portal_url(self) -> str:
        return self.request.build_absolute_uri(reverse("portal:home"))

    def token(self, *, required: bool) -> str | None:
        """The request's member token; ``TokenInvalid`` for none if ``required``."""
        scheme, _space, token = self.request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            if required:
                raise TokenInvalid()
            return None
        return token.strip()

    def token_member(self, *, required: bool) -> Member | None:
        """The member the request's token names; ``TokenInvalid`` for a bad token, or for none if ``required``."""
        token = self.token(required=required)
        if token is None:
            return None
        member = storefront_token_member(storefront=self.storefront, token=token)
        if member is None:
            raise TokenInvalid()
        return member


class ConfigView(StorefrontView):
    """``GET /embed/v1/<key>/config/``: the club as a visitor sees it, and the widget's looks."""

    def get(self, request: Request, key: str) -> Response:
        return Response(storefront_config(storefront=self.storefront, portal_url=self.portal_url()))


class SessionView(StorefrontView):
    """``POST /embed/v1/<key>/session/``: the page's signed customer identity for a member token."""

    def post(self, request: Request, key: str) -> Response:
        payload = SessionInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = storefront_identity_verify(storefront=self.storefront, **payload.validated_data)
        if member is None:  # a verified customer who is not a member: the visitor view, with a join link
            return Response({"member": False, "token": None, "expires_in": None})
        token = storefront_token_issue(storefront=self.storefront, member=member)
        return Response({"member": True, "token": token, "expires_in": TOKEN_MAX_AGE})


class MeView(StorefrontView):
    """``GET /embed/v1/<key>/me/``: what the member has, what they get next and how to use it here."""

    def get(self, request: Request, key: str) -> Response:
        token = self.token(required=True)
        assert token is not None
        public_id = storefront_token_public_id(storefront=self.storefront, token=token)
        if public_id is None:
            raise TokenInvalid()
        summary = storefront_member_summary(
            storefront=self.storefront, public_id=public_id, portal_url=self.portal_url()
        )
        if summary is None:
            raise TokenInvalid()
        return Response(summary)


class BadgesView(StorefrontView):
    """``POST /embed/v1/<key>/badges/``: "earn N points" for each product on a page, for the member (with a
    token) or a new member at the entry tier."""

    def post(self, request: Request, key: str) -> Response:
        member = self.token_member(required=False)
        payload = BadgesInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        points = earning_badges(shop=self.storefront.shop, member=member, items=payload.badge_items())
        return Response({"points": points})


class RedemptionsView(StorefrontView):
    """``POST /embed/v1/<key>/redemptions/``: reserve the member's points for this shop's checkout, as a code."""

    def post(self, request: Request, key: str) -> Response:
        member = self.token_member(required=True)
        assert member is not None
        payload = ReserveInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        request_id = payload.validated_data.get("request_id") or uuid.uuid4()
        result = redemption_reserve(
            shop=self.storefront.shop,
            redemption_id=f"widget-{request_id}",
            member=member,
            points=payload.validated_data["points"],
        )
        return Response(redemption_data(result.redemption), status=201 if result.created else 200)
