"""The shop REST API (``/api/v1/``). Views parse, call one service or selector, and render."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty import selectors, services
from loyalty.api_auth import request_shop
from loyalty.api_errors import Pagination
from loyalty.errors import MemberNotFound, OrderNotFound, VoucherNotFound
from loyalty.models import Programme, ShopCustomer, Tier
from loyalty.serializers import (
    ConsentsSerializer,
    EventCreateInputSerializer,
    EventResultSerializer,
    MemberCreateInputSerializer,
    MemberLookupSerializer,
    MemberSerializer,
    OrderCreateInputSerializer,
    OrderDetailSerializer,
    OrderListItemSerializer,
    OrderResultSerializer,
    RefundCreateInputSerializer,
    RefundResultSerializer,
    VoucherRedeemInputSerializer,
    VoucherSerializer,
)
from loyalty.services.actions import event_record
from loyalty.services.rewards import voucher_use
from members.models import ConsentChannel, ConsentSource, Member
from members.services import consent_set


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable, machine-readable error code.")
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True, help_text="The offending field, dotted for nested ones.")


def _error(description: str, code: str, message: str, field: str | None = None) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"code": code, "message": message, "field": field})],
    )


UNAUTHORIZED = _error("Missing or invalid API key.", "invalid_api_key", "The API key is not valid, or it was revoked.")
BAD_REQUEST = _error("Malformed JSON or invalid fields.", "required", "This field is required.", "amount")
TOO_LARGE = _error(
    "The body is over the size limit.", "body_too_large", "The request body is larger than 262144 bytes."
)

PAGE_NOT_FOUND = _error("The page is past the last one.", "not_found", "Invalid page.")
PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="1 for the first page."),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1}, description="Up to 200; a larger number gives 200."
    ),
]


def paginated(name: str, item: type[serializers.Serializer]) -> serializers.Serializer:
    """A page of a list, as every list in this API answers (see ``loyalty.api_errors.Pagination``)."""
    return inline_serializer(
        name=name,
        fields={
            "count": serializers.IntegerField(help_text="How many there are in all."),
            "next": serializers.URLField(allow_null=True, help_text="The next page, or null on the last."),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


ORDER_EXAMPLE = {
    "order_id": "10045",
    "member": {"email": "kari@example.com", "first_name": "Kari"},
    "amount": "1249.00",
    "tax": "249.80",
    "currency": "NOK",
    "occurred_at": "2026-11-20T14:03:00+01:00",
    "items": [
        {"sku": "RUN-SHOE-42", "name": "Running shoe", "category": "running", "quantity": 1, "unit_price": "999.00"},
        {"sku": "SOCK-3P", "name": "Socks, 3 pairs", "category": "running", "quantity": 1, "unit_price": "250.00"},
    ],
}


def _standing_body(member: Member, shop_id: int, tiers: list[Tier], programme: Programme) -> dict[str, Any]:
    standing = selectors.member_standing(member=member, programme=programme, tiers=tiers)
    links = getattr(member, "this_shop_customers", None)
    if links is None:
        links = list(ShopCustomer.objects.filter(shop_id=shop_id, member=member))
    return MemberSerializer(
        MemberSerializer.build(member=member, standing=standing, external_id=links[0].external_id if links else None)
    ).data


def _members(shop_id: int) -> Any:
    return Member.objects.select_related("user").prefetch_related(
        Prefetch("shop_customers", queryset=ShopCustomer.objects.filter(shop_id=shop_id), to_attr="this_shop_customers")
    )


class OrdersView(APIView):
    """``/api/v1/orders/``: report an order (POST) or list this shop's orders (GET)."""

    @extend_schema(
        operation_id="orders_create",
        summary="Report an order",
        description=(
            "Awards the member points for an order, enrolling an unknown member by email. Idempotent by "
            "`order_id`: the same order again answers 200 with the first body and changes nothing; the same "
            "`order_id` with other data answers 409 `idempotency_conflict`."
        ),
        request=OrderCreateInputSerializer,
        responses={
            201: OrderResultSerializer,
            200: OpenApiResponse(OrderResultSerializer, description="A replay: the first result, nothing changed."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            409: _error(
                "The order id was used with other data.",
                "idempotency_conflict",
                "Order 10045 was already reported with different data.",
                "order_id",
            ),
            413: TOO_LARGE,
            422: _error(
                "The order breaks a rule: `currency_mismatch`, `amount_out_of_range`, `tax_exceeds_amount`, "
                "`occurred_in_future`, or `member_not_enrollable` (no member matches and no email was given "
                "to enrol one).",
                "currency_mismatch",
                "This shop reports orders in NOK, not SEK.",
                "currency",
            ),
        },
        examples=[
            OpenApiExample("An order", value=ORDER_EXAMPLE, request_only=True),
            OpenApiExample(
                "Points awarded",
                value={
                    "order_id": "10045",
                    "member_id": "6f1c1f9e-3f4b-4c1e-9a58-2b7d0f1f7c11",
                    "points_awarded": 1249,
                    "balance": 2480,
                    "tier": "Silver",
                },
                response_only=True,
                status_codes=["201", "200"],
            ),
        ],
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        payload = OrderCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = services.order_record(shop=request_shop(request), order=payload.to_order())
        return Response(result.body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    @extend_schema(
        operation_id="orders_list",
        summary="List this shop's orders",
        responses={
            200: paginated("PaginatedOrderList", OrderListItemSerializer),
            400: _error(
                "A page_size that is not a whole number from 1.",
                "invalid",
                "Give a whole number from 1 to 200.",
                "page_size",
            ),
            401: UNAUTHORIZED,
            404: PAGE_NOT_FOUND,
        },
        parameters=PAGE_PARAMETERS,
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        paginator = Pagination()
        page = paginator.paginate_queryset(selectors.shop_orders(shop=request_shop(request)), request, view=self)
        return paginator.get_paginated_response(OrderListItemSerializer(page, many=True).data)


class OrderDetailView(APIView):
    @extend_schema(
        operation_id="orders_retrieve",
        summary="One of this shop's orders, with its refunds",
        responses={
            200: OrderDetailSerializer,
            401: UNAUTHORIZED,
            404: _error(
                "No such order in this shop.", "order_not_found", "This shop has no order with that id.", "order_id"
            ),
        },
        tags=["orders"],
    )
    def get(self, request: Request, order_id: str) -> Response:
        order = selectors.shop_order(shop=request_shop(request), order_id=order_id)
        if order is None:
            raise OrderNotFound()
        return Response(OrderDetailSerializer(order).data)


class RefundsView(APIView):
    @extend_schema(
        operation_id="refunds_create",
        summary="Report a refund",
        description=(
            "Claws back the points the refunded share of the order earned (rounded down; a full refund takes "
            "back exactly what the order earned, never more). Idempotent by `refund_id`. The member's balance "
            "may go below zero when the points were already spent."
        ),
        request=RefundCreateInputSerializer,
        responses={
            201: RefundResultSerializer,
            200: OpenApiResponse(RefundResultSerializer, description="A replay: the first result, nothing changed."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: _error(
                "No such order in this shop.", "order_not_found", "This shop has no order with that id.", "order_id"
            ),
            409: _error(
                "The refund id was used with other data.",
                "idempotency_conflict",
                "Refund R-1 was already reported with different data.",
                "refund_id",
            ),
            413: TOO_LARGE,
            422: _error(
                "More than the order would be refunded.",
                "refund_exceeds_order",
                "Only 200.00 NOK of order 10045 is left to refund.",
                "amount",
            ),
        },
        examples=[
            OpenApiExample("A partial refund", value={"refund_id": "R-10045-1", "amount": "250.00"}, request_only=True),
            OpenApiExample(
                "Points clawed back",
                value={
                    "refund_id": "R-10045-1",
                    "order_id": "10045",
                    "member_id": "6f1c1f9e-3f4b-4c1e-9a58-2b7d0f1f7c11",
                    "points_clawed_back": 250,
                    "balance": 2230,
                },
                response_only=True,
                status_codes=["201", "200"],
            ),
        ],
        tags=["orders"],
    )
    def post(self, request: Request, order_id: str) -> Response:
        payload = RefundCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        result = services.refund_record(
            shop=request_shop(request),
            order_id=order_id,
            refund_id=payload.validated_data["refund_id"],
            amount=payload.validated_data["amount"],
        )
        return Response(result.body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


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
            400: _error(
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
        lookup = MemberLookupSerializer(data=request.query_params)
        lookup.is_valid(raise_exception=True)
        members = _members(shop.pk).order_by("id")
        filters = lookup.validated_data
        if "email" in filters:
            members = members.filter(user__email=filters["email"].lower())
        if "phone" in filters:
            members = members.filter(phone=filters["phone"])
        if "external_id" in filters:
            members = members.filter(shop_customers__shop=shop, shop_customers__external_id=filters["external_id"])
        paginator = Pagination()
        page = paginator.paginate_queryset(members, request, view=self)
        programme, tiers = Programme.load(), list(Tier.objects.order_by("threshold"))
        return paginator.get_paginated_response([_standing_body(m, shop.pk, tiers, programme) for m in page])

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
            409: _error(
                "The phone belongs to another member.",
                "phone_in_use",
                "Another member already has this phone number.",
                "phone",
            ),
            413: TOO_LARGE,
            422: _error(
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
        payload = MemberCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member, created = services.shop_member_enrol(shop=shop, **payload.validated_data)
        member = _members(shop.pk).get(pk=member.pk)
        body = _standing_body(member, shop.pk, list(Tier.objects.order_by("threshold")), Programme.load())
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MemberDetailView(APIView):
    @extend_schema(
        operation_id="members_retrieve",
        summary="A member's balance, tier and progress to the next tier",
        responses={
            200: MemberSerializer,
            401: UNAUTHORIZED,
            404: _error("No such member.", "member_not_found", "No member has this id.", "member_id"),
        },
        tags=["members"],
    )
    def get(self, request: Request, member_id: str) -> Response:
        shop = request_shop(request)
        member = _members(shop.pk).filter(public_id=member_id).first()
        if member is None:
            raise MemberNotFound()
        return Response(_standing_body(member, shop.pk, list(Tier.objects.order_by("threshold")), Programme.load()))


MEMBER_NOT_FOUND = _error("No such member.", "member_not_found", "No member has this id.", "member_id")
CONSENTS_INVALID = _error(
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


MEMBER_NOT_FOUND = _error("No such member.", "member_not_found", "No member has this id.", "member_id")
VALIDATION_ERROR = _error(
    "Invalid input.", "invalid", "Give email_marketing, sms_marketing or both.", "email_marketing"
)


def _member_or_404(member_id: str) -> Member:
    member = Member.objects.filter(public_id=member_id, erased_at__isnull=True).first()
    if member is None:
        raise MemberNotFound()
    return member


def _consents_body(member: Member) -> dict[str, bool]:
    return {"email_marketing": member.email_marketing, "sms_marketing": member.sms_marketing}


# --- Rewards and vouchers ---------------------------------------------------------------------------

VOUCHER_EXAMPLE = {
    "code": "K7QH3MZP9A",
    "valid": True,
    "status": "issued",
    "kind": "reward",
    "reward_id": 3,
    "reward_name": "Free coffee",
    "how_to_use": "Show the code at the till.",
    "expires_at": None,
    "member_id": "6f1c1f9e-3f4b-4c1e-9a58-2b7d0f1f7c11",
    "issued_at": "2026-11-20T14:03:00+01:00",
    "used_at": None,
    "used_order_id": None,
}
VOUCHER_NOT_FOUND = _error("No voucher has this code.", "voucher_not_found", "No voucher has this code.", "code")


class VoucherDetailView(APIView):
    @extend_schema(
        operation_id="vouchers_retrieve",
        summary="Check a voucher",
        description=(
            "Whether the voucher can still be used (`valid`), its status, what it gives and the member. A voucher "
            "is a reward the member paid for with points (`kind: reward`) or a personal win-back offer "
            "(`kind: winback`, valid until `expires_at`). Codes are case-insensitive; spaces and dashes are ignored."
        ),
        responses={200: VoucherSerializer, 401: UNAUTHORIZED, 404: VOUCHER_NOT_FOUND},
        examples=[OpenApiExample("An unused voucher", value=VOUCHER_EXAMPLE, response_only=True)],
        tags=["vouchers"],
    )
    def get(self, request: Request, code: str) -> Response:
        shop = request_shop(request)
        voucher = selectors.voucher_by_code(code=code)
        if voucher is None:
            raise VoucherNotFound()
        return Response(VoucherSerializer(VoucherSerializer.build(voucher=voucher, shop_id=shop.pk)).data)


class VoucherRedeemView(APIView):
    @extend_schema(
        operation_id="vouchers_redeem",
        summary="Use a voucher on an order",
        description=(
            "Marks the voucher used on `order_id`. Idempotent: the same shop and order again answers 200 with "
            "the same body. A voucher used on another order answers 409 `voucher_already_used`; a cancelled one "
            "409 `voucher_cancelled`; an expired win-back code 409 `voucher_expired`."
        ),
        request=VoucherRedeemInputSerializer,
        responses={
            200: VoucherSerializer,
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            404: VOUCHER_NOT_FOUND,
            409: _error(
                "The voucher was used on another order (`voucher_already_used`), cancelled (`voucher_cancelled`) "
                "or has expired (`voucher_expired`).",
                "voucher_already_used",
                "This voucher was already used on another order.",
                "code",
            ),
            413: TOO_LARGE,
        },
        examples=[
            OpenApiExample("Use on an order", value={"order_id": "10045"}, request_only=True),
            OpenApiExample(
                "Used",
                value={
                    **VOUCHER_EXAMPLE,
                    "valid": False,
                    "status": "used",
                    "used_at": "2026-11-21T10:15:00+01:00",
                    "used_order_id": "10045",
                },
                response_only=True,
                status_codes=["200"],
            ),
        ],
        tags=["vouchers"],
    )
    def post(self, request: Request, code: str) -> Response:
        shop = request_shop(request)
        payload = VoucherRedeemInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        voucher, _created = voucher_use(shop=shop, code=code, order_id=payload.validated_data["order_id"])
        return Response(VoucherSerializer(VoucherSerializer.build(voucher=voucher, shop_id=shop.pk)).data)


# --- Events: points for actions shops report -----------------------------------------------------------


EVENT_EXAMPLE = {
    "type": "product_review",
    "idempotency_key": "review-88231",
    "member": {"email": "kari@example.com"},
    "occurred_at": "2026-11-20T14:03:00+01:00",
    "data": {"sku": "RUN-SHOE-42", "rating": 5},
}


class EventsView(APIView):
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
            409: _error(
                "The key was used with other data.",
                "idempotency_conflict",
                "Event review-88231 was already reported with different data.",
                "idempotency_key",
            ),
            413: TOO_LARGE,
            422: _error(
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
        payload = EventCreateInputSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        result = event_record(
            shop=request_shop(request),
            event_type=data["type"],
            key=data["idempotency_key"],
            member=services.MemberRef(**data["member"]),
            occurred_at=data["occurred_at"],
            data=data["data"],
        )
        return Response(result.body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
