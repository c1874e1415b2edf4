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
from loyalty.models import Programme, Tier
from loyalty.shops import shop_member_enrol
from loyalty.shops.auth import phone_context, request_shop
from members.models import ConsentChannel, ConsentSource, Member
from members.services import consent_set


def _member_bodies(members: Iterable[Member]) -> list[dict[str, Any]]:
    """Members as ``selectors.shop_members`` gives them, each with its standing and this shop's customer id."""
    programme, tiers = Programme.load(), list(Tier.objects.order_by("threshold"))
    bodies = []
    for member in members:
        standing = selectors.member_standing(member=member, programme=programme, tiers=tiers)
        links = member.this_shop_customers  # type: ignore[attr-defined]
        external_id = links[0].external_id if links else None
        bodies.append(
            MemberSerializer(MemberSerializer.build(member=member, standing=standing, external_id=external_id)).data
        )
    return bodies


class MembersView(APIView):
    """``/api/v1/members/``: look a member up (GET with a filter) or enrol one (POST)."""

    @extend_schema(
        operation_id="members_list",
        summary="Look members up",
        description="Give at least one of `email`, `phone` or `external_id` (this shop's customer id).",
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
        members = selectors.shop_members(shop=shop, **lookup.validated_data)
        paginator = Pagination()
        page = paginator.paginate_queryset(members, request, view=self)
        return paginator.get_paginated_response(_member_bodies(page))

    @extend_schema(
        operation_id="members_create",
        summary="Enrol a member",
        description=(
            "201 with the new member; 200 with the existing one, unchanged, when the email is already a member."
        ),
        request=MemberCreateInputSerializer,
        responses={
            201: MemberSerializer,
            200: OpenApiResponse(MemberSerializer, description="Already a member."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            409: error_response(
                "The phone belongs to another member.",
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
        member, created = shop_member_enrol(shop=shop, **payload.validated_data)
        enrolled = selectors.shop_member(shop=shop, member_id=member.public_id)
        if enrolled is None:  # deleted in the meantime
            raise MemberNotFound()
        return Response(
            _member_bodies([enrolled])[0], status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class MemberDetailView(APIView):
    @extend_schema(
        operation_id="members_retrieve",
        summary="A member's balance, tier and progress to the next tier",
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
        member = selectors.shop_member(shop=request_shop(request), member_id=member_id)
        if member is None:
            raise member_missing(member_id)
        return Response(_member_bodies([member])[0])


MEMBER_NOT_FOUND = error_response("No such member.", "member_not_found", "No member has this id.", "member_id")
CONSENTS_INVALID = error_response(
    "Invalid input.", "invalid", "Give email_marketing, sms_marketing or both.", "email_marketing"
)


class MemberConsentsView(APIView):
    """``/api/v1/members/{id}/consents/``: read or change a member's marketing consents."""

    @extend_schema(
        operation_id="members_consents_retrieve",
        summary="A member's marketing consents",
        responses={200: ConsentsSerializer, 401: UNAUTHORIZED, 404: MEMBER_NOT_FOUND},
        tags=["members"],
    )
    def get(self, request: Request, member_id: str) -> Response:
        member = _member_or_404(member_id)
        return Response(_consents_body(member))

    @extend_schema(
        operation_id="members_consents_update",
        summary="Change a member's marketing consents",
        description=(
            "Records each change with the time, source `api`, the shop and the `wording` the customer agreed to, "
            "so the club can prove consent. A channel left out is unchanged; setting a channel to its current "
            "value records nothing."
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
        member = _member_or_404(member_id)
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


def _member_or_404(member_id: str) -> Member:
    member = Member.objects.filter(public_id=member_id, erased_at__isnull=True).first()
    if member is None:
        raise member_missing(member_id)
    return member


def member_missing(member_id: str) -> MemberNotFound:
    """What to answer for a member id that names nobody: ``member_erased`` when it named a member who has had their
    personal data deleted (so a shop can delete its copy too), else ``member_not_found``; both 404."""
    return MemberErased() if selectors.member_erased(member_id=member_id) else MemberNotFound()


def _consents_body(member: Member) -> dict[str, bool]:
    return {"email_marketing": member.email_marketing, "sms_marketing": member.sms_marketing}
