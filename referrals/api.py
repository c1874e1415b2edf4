"""Shop API for referrals: look up a member's referral code and link."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty import selectors
from loyalty.errors import MemberNotFound
from loyalty.models import ApiScope
from loyalty.shops.auth import request_sees_all_members, request_shop
from referrals.selectors import member_referral_stats
from referrals.services import referral_code_for

ReferralSerializer = inline_serializer(
    name="MemberReferral",
    fields={
        "member_id": serializers.UUIDField(),
        "code": serializers.CharField(),
        "link": serializers.URLField(),
        "friends_joined": serializers.IntegerField(),
        "friends_rewarded": serializers.IntegerField(),
        "points_earned": serializers.IntegerField(),
    },
)


class MemberReferralView(APIView):
    required_scope = ApiScope.REFERRALS

    @extend_schema(
        operation_id="members_referral_retrieve",
        summary="A member's referral code and link",
        description="Show it at checkout or in the shop's own account pages. Friends join with the link, or the "
        "shop enrols them with `POST /api/v1/members/` and `referral_code`. Only for this shop's customers, "
        "unless the key has the scope `members:all`.",
        responses={
            200: ReferralSerializer,
            401: OpenApiResponse(description="Missing or invalid API key."),
            404: OpenApiResponse(description="No member has this id, or not one of this shop's customers."),
        },
        tags=["members"],
    )
    def get(self, request: Request, member_id: str) -> Response:
        member = selectors.shop_member(
            shop=request_shop(request), member_id=member_id, sees_all=request_sees_all_members(request)
        )
        if member is None:
            raise MemberNotFound()
        code = referral_code_for(member=member)
        stats = member_referral_stats(member=member)
        return Response(
            {
                "member_id": str(member.public_id),
                "code": code.code,
                "link": request.build_absolute_uri(reverse("referral-landing", args=[code.code])),
                "friends_joined": stats.joined,
                "friends_rewarded": stats.rewarded,
                "points_earned": stats.points_earned,
            }
        )
