"""``/api/v1/points/preview/``: what an order would earn now, for "earn N points" on product and cart pages."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.api.schema import BAD_REQUEST, TOO_LARGE, UNAUTHORIZED, error_response
from loyalty.api.serializers.points import PreviewInputSerializer, PreviewResultSerializer
from loyalty.models import ApiScope
from loyalty.orders import earning_preview
from loyalty.shops.auth import phone_context, request_shop

PREVIEW_EXAMPLE = {
    "member": {"email": "kari@example.com"},
    "amount": "1249.00",
    "currency": "NOK",
    "items": [{"sku": "RUN-SHOE-42", "category": "running", "quantity": 1, "unit_price": "1249.00"}],
}


class PointsPreviewView(APIView):
    required_scope = ApiScope.ORDERS

    @extend_schema(
        operation_id="points_preview",
        summary="Preview the points an order would earn",
        description=(
            "What this order would earn if it were reported now: the base rate, the member's tier multiplier and "
            "the campaigns in force (with their caps for this member). Writes nothing; reporting the same order "
            "right after earns exactly `points`. Without `member`, or for a customer who is not a member yet, "
            "it answers for a new member at the entry tier."
        ),
        request=PreviewInputSerializer,
        responses={
            200: PreviewResultSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            413: TOO_LARGE,
            422: error_response(
                "The order breaks a rule: `currency_mismatch`, `amount_out_of_range` or `tax_exceeds_amount`.",
                "currency_mismatch",
                "This shop reports orders in NOK, not SEK.",
                "currency",
            ),
        },
        examples=[
            OpenApiExample("A cart", value=PREVIEW_EXAMPLE, request_only=True),
            OpenApiExample(
                "What it would earn",
                value={
                    "points": 1811,
                    "lines": [
                        {"rule": "base", "points": 1249},
                        {"rule": "tier", "points": 312},
                        {"rule": "Double points on running", "points": 250},
                    ],
                    "tier": "Silver",
                },
                response_only=True,
            ),
        ],
        tags=["points"],
    )
    def post(self, request: Request) -> Response:
        payload = PreviewInputSerializer(data=request.data, context=phone_context(request))
        payload.is_valid(raise_exception=True)
        preview = earning_preview(
            shop=request_shop(request),
            member=payload.member_ref(),
            amount=payload.validated_data["amount"],
            tax=payload.validated_data["tax"],
            currency=payload.validated_data["currency"],
            items=payload.order_items(),
            customer_tags=payload.validated_data["customer_tags"],
        )
        return Response(preview.as_data())
