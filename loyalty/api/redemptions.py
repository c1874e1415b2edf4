"""``/api/v1/redemptions/``: spend points at the shop's checkout: reserve, then capture or release."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.api.schema import BAD_REQUEST, TOO_LARGE, UNAUTHORIZED, error_response
from loyalty.api.serializers.redemptions import (
    RedemptionCaptureInputSerializer,
    RedemptionCreateInputSerializer,
    RedemptionSerializer,
)
from loyalty.errors import MemberNotMatched
from loyalty.models import ApiScope
from loyalty.rewards import redemption_capture, redemption_data, redemption_release, redemption_reserve
from loyalty.shops import member_find
from loyalty.shops.auth import phone_context, request_shop

RESERVED_EXAMPLE = {
    "redemption_id": "checkout-7f3a",
    "code": "KPQ7RM4XHJ2KDW",
    "points": 500,
    "amount": "50.00",
    "currency": "NOK",
    "status": "reserved",
    "expires_at": "2026-12-06T14:33:00Z",
    "order_id": None,
}
NOT_FOUND = error_response(
    "No redemption with this id at this shop.",
    "redemption_not_found",
    "This shop has no redemption with that id.",
    "redemption_id",
)


class RedemptionsView(APIView):
    required_scope = ApiScope.REDEMPTIONS

    @extend_schema(
        operation_id="redemptions_create",
        summary="Reserve points for a checkout",
        description=(
            "Takes `points` (or the most points `amount` buys, converted at the point value and rounded down to "
            "a step) off the member's balance at once and answers a single-use `code` to apply as the order's "
            "discount, worth `amount`. Report the order with the code in `discount_codes` (or call capture); "
            "if the checkout is abandoned, release it. A reservation neither captured nor released by "
            "`expires_at` is released and its points come back. Idempotent by `redemption_id`: the same "
            "request again answers 200 with the first body; other data 409 `idempotency_conflict`."
        ),
        request=RedemptionCreateInputSerializer,
        responses={
            201: RedemptionSerializer,
            200: OpenApiResponse(RedemptionSerializer, description="A replay: the first result, nothing changed."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            409: error_response(
                "The redemption id was used with other data.",
                "idempotency_conflict",
                "Redemption checkout-7f3a was already reported with different data.",
                "redemption_id",
            ),
            413: TOO_LARGE,
            422: error_response(
                "Refused, nothing changed: `insufficient_points`, `below_minimum` (fewer points than the smallest "
                "redemption), `not_a_step` (not the smallest redemption plus whole steps), `exceeds_order_share` "
                "(more than points may pay of `order_amount`) or `member_not_found` (nobody matches `member`).",
                "insufficient_points",
                "The member has 300 points to spend.",
                "points",
            ),
        },
        examples=[
            OpenApiExample(
                "Spend 500 points",
                value={"redemption_id": "checkout-7f3a", "member": {"email": "kari@example.com"}, "points": 500},
                request_only=True,
            ),
            OpenApiExample(
                "Pay 50.00 with points",
                value={
                    "redemption_id": "checkout-7f3a",
                    "member": {"external_id": "gid-4411"},
                    "amount": "50.00",
                    "order_amount": "1249.00",
                },
                request_only=True,
            ),
            OpenApiExample("Reserved", value=RESERVED_EXAMPLE, response_only=True, status_codes=["201", "200"]),
        ],
        tags=["checkout"],
    )
    def post(self, request: Request) -> Response:
        payload = RedemptionCreateInputSerializer(data=request.data, context=phone_context(request))
        payload.is_valid(raise_exception=True)
        shop = request_shop(request)
        member = member_find(shop=shop, ref=payload.member_ref())
        if member is None:
            raise MemberNotMatched()
        result = redemption_reserve(
            shop=shop,
            redemption_id=payload.validated_data["redemption_id"],
            member=member,
            points=payload.validated_data.get("points"),
            amount=payload.validated_data.get("amount"),
            order_amount=payload.validated_data.get("order_amount"),
        )
        return Response(
            result.redemption.response, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class RedemptionCaptureView(APIView):
    required_scope = ApiScope.REDEMPTIONS

    @extend_schema(
        operation_id="redemptions_capture",
        summary="Capture a reservation: the order was placed",
        description=(
            "The points stay spent, on `order_id`. Idempotent: capturing again for the same order answers the "
            "same. Reporting the order with the code in `discount_codes` does the same without this call."
        ),
        request=RedemptionCaptureInputSerializer,
        responses={
            200: RedemptionSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            409: error_response(
                "`redemption_released` (it was released, its points went back) or `redemption_captured` "
                "(captured for another order).",
                "redemption_released",
                "This redemption was released; its points went back to the member.",
                "redemption_id",
            ),
        },
        examples=[
            OpenApiExample("The order", value={"order_id": "10045"}, request_only=True),
            OpenApiExample(
                "Captured",
                value={**RESERVED_EXAMPLE, "status": "captured", "order_id": "10045"},
                response_only=True,
            ),
        ],
        tags=["checkout"],
    )
    def post(self, request: Request, redemption_id: str) -> Response:
        payload = RedemptionCaptureInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = redemption_capture(
            shop=request_shop(request), redemption_id=redemption_id, order_id=payload.validated_data["order_id"]
        )
        return Response(redemption_data(result.redemption))


class RedemptionReleaseView(APIView):
    required_scope = ApiScope.REDEMPTIONS

    @extend_schema(
        operation_id="redemptions_release",
        summary="Release a reservation: the checkout was abandoned",
        description=(
            "The points go back to the member, with the expiry dates they had. Idempotent: releasing again "
            "answers the same."
        ),
        request=None,
        responses={
            200: RedemptionSerializer,
            401: UNAUTHORIZED,
            404: NOT_FOUND,
            409: error_response(
                "The order was placed: its points stay spent (a refund gives them back).",
                "redemption_captured",
                "This redemption was already captured.",
                "redemption_id",
            ),
        },
        examples=[
            OpenApiExample("Released", value={**RESERVED_EXAMPLE, "status": "released"}, response_only=True),
        ],
        tags=["checkout"],
    )
    def post(self, request: Request, redemption_id: str) -> Response:
        result = redemption_release(shop=request_shop(request), redemption_id=redemption_id)
        return Response(redemption_data(result.redemption))
