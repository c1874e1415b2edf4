"""``/api/v1/events/``: points for actions shops report (a product review, say)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty.api.schema import BAD_REQUEST, TOO_LARGE, UNAUTHORIZED, error_response
from loyalty.api.serializers.events import EventCreateInputSerializer, EventResultSerializer
from loyalty.campaigns.actions import event_record
from loyalty.models import ApiScope
from loyalty.shops import MemberRef
from loyalty.shops.auth import phone_context, request_shop

EVENT_EXAMPLE = {
    "type": "product_review",
    "idempotency_key": "review-88231",
    "member": {"email": "kari@example.com"},
    "occurred_at": "2026-11-20T14:03:00+01:00",
    "data": {"sku": "RUN-SHOE-42", "rating": 5},
}


class EventsView(APIView):
    required_scope = ApiScope.EVENTS

    @extend_schema(
        operation_id="events_create",
        summary="Report a member's action",
        description=(
            "Gives the member the points staff set for the event `type` (e.g. a product review), within the "
            "action's limit per member. Idempotent by `idempotency_key`: the same event again answers 200 with "
            "the first body; the same key with other data answers 409 `idempotency_conflict`. Over the limit the "
            "event is recorded with `points_awarded` 0 and `limited` true."
        ),
        request=EventCreateInputSerializer,
        responses={
            201: EventResultSerializer,
            200: OpenApiResponse(EventResultSerializer, description="A replay: the first result, nothing changed."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            409: error_response(
                "The key was used with other data.",
                "idempotency_conflict",
                "Event review-88231 was already reported with different data.",
                "idempotency_key",
            ),
            413: TOO_LARGE,
            422: error_response(
                "`unknown_event_type` (no active action has this type) or `member_not_enrollable` (no member matches).",
                "unknown_event_type",
                "No active points action has this event type.",
                "type",
            ),
        },
        examples=[
            OpenApiExample("A product review", value=EVENT_EXAMPLE, request_only=True),
            OpenApiExample(
                "Points given",
                value={
                    "event_id": "review-88231",
                    "type": "product_review",
                    "member_id": "6f1c1f9e-3f4b-4c1e-9a58-2b7d0f1f7c11",
                    "points_awarded": 50,
                    "limited": False,
                    "balance": 2530,
                },
                response_only=True,
                status_codes=["201", "200"],
            ),
        ],
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        payload = EventCreateInputSerializer(data=request.data, context=phone_context(request))
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        result = event_record(
            shop=request_shop(request),
            event_type=data["type"],
            key=data["idempotency_key"],
            member=MemberRef(**data["member"]),
            occurred_at=data["occurred_at"],
            data=data["data"],
        )
        return Response(
            result.outcome.as_data(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )
