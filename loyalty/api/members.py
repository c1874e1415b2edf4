"""``/api/v1/members/``: look members up, enrol one, read one's standing, read and change their consents."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty import selectors
from loyalty.api.pagination import Pagination
from loyalty.api.schema import (
    BAD_REQUEST,
    PAGE_NOT_FOUND,
    PAGE_PARAMETERS,
    TOO_LARGE,
    UNAUTHORIZED,
    error_response,
    paginated,
)
from loyalty.api.serializers.members import (
    ConsentsSerializer,
    MemberCreateInputSerializer,
    MemberLookupSerializer,
    MemberSerializer,
)
from loyalty.errors import MemberErased, MemberNotFound
from loyalty.models import ApiScope, Programme, Tier
from loyalty.shops import shop_member_enrol
from loyalty.shops.auth import phone_context, request_sees_all_members, request_shop
from members.models import ConsentChannel, ConsentSource, Member
from members.services import consent_set


def _member_bodies(members: Iterable[Member]) -> list[dict[str, Any]]:
    """Members as ``selectors.shop_members`` gives them, each with its standing and this shop's customer id."""
    programme, tiers = Programme.load(), list(Tier.objects.order_by("threshold"))
    bodies = []
    for member in members:
        standing = selectors.member_standing(member=member, programme=programme, tiers=tiers)
        links = member.this_shop_customers  # type: ignore[attr-defined]
        external_id = (links[0].external_id if links else "") or None
        bodies.append(
            MemberSerializer(MemberSerializer.build(member=member, standing=standing, external_id=external_id)).data
        )
    return bodies


# Said of every operation that answers with a member's personal data.
CUSTOMERS_ONLY = (
    "A shop sees only its own customers (members it enrolled, named by its customer id or has an order from), "
    "unless its key has the scope `members:all`: any other member is not found."
)


class MembersView(APIView):
    """``/api/v1/members/``: look a member up (GET with a filter) or enrol one (POST)."""

    required_scope = {"GET": ApiScope.MEMBERS_READ, "POST": ApiScope.MEMBERS_WRITE}

    @extend_schema(
        operation_id="members_list",
        summary="Look members up",
        description=(
            "Give at least one of `email`, `phone` or `external_id` (this shop's customer id). " + CUSTOMERS_ONLY
        ),
        parameters=[
            OpenApiParameter("email", {"type": "string", "format": "email", "minLength": 1}),
            OpenApiParameter("phone", {"type": "string", "minLength": 1}, description="Any format; compared in E.164."),
            OpenApiParameter("external_id", {"type": "string", "minLength": 1, "maxLength": 100}),
            *PAGE_PARAMETERS,
        ],
        responses={
            200: paginated("PaginatedMemberList", MemberSerializer),
            400: error_response(
                "No filter given (`filter_required`), or a filter or `page_size` that is not valid.",
                "filter_required",
                "Look members up by email, phone or external_id.",
            ),
            401: UNAUTHORIZED,
            404: PAGE_NOT_FOUND,
        },
        tags=["members"],
    )
    def get(self, request: Request) -> Response:
        shop = request_shop(request)
        lookup = MemberLookupSerializer(data=request.query_params, context=phone_context(request))
        lookup.is_valid(raise_exception=True)
        members = selectors.shop_members(shop=shop, sees_all=request_sees_all_members(request), **lookup.validated_data)
        paginator = Pagination()
        page = paginator.paginate_queryset(members, request, view=self)
        return paginator.get_paginated_response(_member_bodies(page))

    @extend_schema(
        operation_id="members_create",
        summary="Enrol a member",
        description=(
            "201 with the new member, who is this shop's customer from now on; 200 with the existing one, unchanged, "
            "when the email is already a member and this shop's customer. An email of a member who is not this "
            "shop's customer is refused with 409 `member_not_customer` and nothing changes (they become the "
            "shop's customer with their first order there), unless the key has the scope `members:all`."
        ),
        request=MemberCreateInputSerializer,
        responses={
            201: MemberSerializer,
            200: OpenApiResponse(MemberSerializer, description="Already a member."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            409: error_response(
                "`phone_in_use`: the phone belongs to another member; `member_not_customer`: the email belongs to "
                "a member who is not this shop's customer.",
                "phone_in_use",
                "Another member already has this phone number.",
                "phone",
            ),
            413: TOO_LARGE,
            422: error_response(
                "The referral code was refused: `referral_code_unknown`, `referral_self`, `referral_already_member` "
                "or `referral_already_referred`. Nothing was written.",
                "referral_code_unknown",
                "No active referral code matches.",
                "referral_code",
            ),
        },
        examples=[
            OpenApiExample(
                "A new member",
                value={
                    "email": "ola@example.com",
                    "first_name": "Ola",
                    "phone": "+4791234567",
                    "language": "nb",
                    "external_id": "C-881",
                },
                request_only=True,
            )
        ],
        tags=["members"],
    )
    def post(self, request: Request) -> Response:
        shop = request_shop(request)
        payload = MemberCreateInputSerializer(data=request.data, context=phone_context(request))
        payload.is_valid(raise_exception=True)
        sees_all = request_sees_all_members(request)
        member, created = shop_member_enrol(shop=shop, sees_all_members=sees_all, **payload.validated_data)
        enrolled = selectors.shop_member(shop=shop, member_id=member.public_id, sees_all=sees_all)
        if enrolled is None:  # deleted in the meantime
            raise MemberNotFound()
        return Response(
            _member_bodies([enrolled])[0], status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MemberDetailView(APIView):
    required_scope = ApiScope.MEMBERS_READ

    @extend_schema(
        operation_id="members_retrieve",
        summary="A member's balance, tier and progress to the next tier",
        description=CUSTOMERS_ONLY,
        responses={
            200: MemberSerializer,
            401: UNAUTHORIZED,
            404: error_response(
                "No such member: `member_not_found`, or `member_erased` when the member had their personal data "
                "deleted.",
                "member_not_found",
                "No member has this id.",
                "member_id",
            ),
        },
        tags=["members"],
    )
    def get(self, request: Request, member_id: str) -> Response:
        member = selectors.shop_member(
            shop=request_shop(request), member_id=member_id, sees_all=request_sees_all_members(request)
        )
        if member is None:
            raise member_missing(request, member_id)
        return Response(_member_bodies([member])[0])


MEMBER_NOT_FOUND = error_response("No such member.", "member_not_found", "No member has this id.", "member_id")
CONSENTS_INVALID = error_response(
    "Invalid input.", "invalid", "Give email_marketing, sms_marketing or both.", "email_marketing"
)


class MemberConsentsView(APIView):
    """``/api/v1/members/{id}/consents/``: read or change a member's marketing consents."""

    required_scope = ApiScope.CONSENTS

    @extend_schema(
        operation_id="members_consents_retrieve",
        summary="A member's marketing consents",
        description=CUSTOMERS_ONLY,
        responses={200: ConsentsSerializer, 401: UNAUTHORIZED, 404: MEMBER_NOT_FOUND},
        tags=["members"],
    )
    def get(self, request: Request, member_id: str) -> Response:
        member = _member_or_404(request, member_id)
        return Response(_consents_body(member))

    @extend_schema(
        operation_id="members_consents_update",
        summary="Change a member's marketing consents",
        description=(
            "Records each change with the time, source `api`, the shop and the `wording` the customer agreed to, "
            "so the club can prove consent. A channel left out is unchanged; setting a channel to its current "
            "value records nothing. " + CUSTOMERS_ONLY
        ),
        request=ConsentsSerializer,
        responses={200: ConsentsSerializer, 400: CONSENTS_INVALID, 401: UNAUTHORIZED, 404: MEMBER_NOT_FOUND},
        examples=[
            OpenApiExample(
                "Opt in to email at checkout",
                value={"email_marketing": True, "wording": "Yes, send me offers by email."},
                request_only=True,
            )
        ],
        tags=["members"],
    )
    def put(self, request: Request, member_id: str) -> Response:
        shop = request_shop(request)
        member = _member_or_404(request, member_id)
        payload = ConsentsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        for channel, field in ((ConsentChannel.EMAIL, "email_marketing"), (ConsentChannel.SMS, "sms_marketing")):
            if field in payload.validated_data:
                consent_set(
                    member=member,
                    channel=channel,
                    granted=payload.validated_data[field],
                    source=ConsentSource.API,
                    wording=payload.validated_data.get("wording", ""),
                    recorded_by=f"shop:{shop.slug}",
                )
        return Response(_consents_body(member))


def _member_or_404(request: Request, member_id: str) -> Member:
    member = selectors.shop_member(
        shop=request_shop(request), member_id=member_id, sees_all=request_sees_all_members(request)
    )
    if member is None:
        raise member_missing(request, member_id)
    return member


def member_missing(request: Request, member_id: str) -> MemberNotFound:
    """What to answer for a member id this shop may not see: ``member_erased`` when it named a member of this
    shop's who has had their personal data deleted (so the shop can delete its copy too), else
    ``member_not_found`` (also for another shop's customer: whether the id exists is not told); both 404."""
    erased = selectors.member_erased(
        shop=request_shop(request), member_id=member_id, sees_all=request_sees_all_members(request)
    )
    return MemberErased() if erased else MemberNotFound()


def _consents_body(member: Member) -> dict[str, bool]:
    return {"email_marketing": member.email_marketing, "sms_marketing": member.sms_marketing}
