"""``/api/v1/orders/``: report an order, list and read this shop's orders, report a refund; and the return
reasons a refund may give (``/api/v1/return-reasons/``)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
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
from loyalty.api.serializers.orders import (
    OrderCreateInputSerializer,
    OrderDetailSerializer,
    OrderListItemSerializer,
    OrderResultSerializer,
    RefundCreateInputSerializer,
    RefundResultSerializer,
    ReturnReasonSerializer,
)
from loyalty.errors import OrderNotFound
from loyalty.models import ApiScope
from loyalty.orders import order_record, refund_record
from loyalty.shops.auth import phone_context, request_shop

ORDER_EXAMPLE = {
    "order_id": "10045",
    "member": {"email": "kari@example.com", "first_name": "Kari"},
    "amount": "1249.00",
    "tax": "249.80",
    "currency": "NOK",
    "occurred_at": "2026-11-20T14:03:00+01:00",
    "items": [
        {"sku": "RUN-SHOE-42", "name": "Running shoe", "category": "running", "quantity": 1, "unit_price": "999.00"},
        {
            "sku": "SOCK-3P",
            "name": "Socks, 3 pairs",
            "category": "running",
            "quantity": 1,
            "unit_price": "250.00",
            "url": "https://shop.example.com/products/socks-3p",
        },
    ],
    "discount_codes": ["KPQ7RM4XHJ2KDW"],
}


class OrdersView(APIView):
    """``/api/v1/orders/``: report an order (POST) or list this shop's orders (GET)."""

    required_scope = ApiScope.ORDERS

    @extend_schema(
        operation_id="orders_create",
        summary="Report an order",
        description=(
            "Awards the member points for an order, enrolling an unknown member by email; with a return window "
            "set, they are pending until `available_at`. A Klubb checkout code in `discount_codes` captures its "
            "redemption; a reward voucher's code marks the voucher used; a referred friend's discount code (a "
            "personal one, or a member's referral code: see `GET /api/v1/vouchers/{code}/`) is used, and the "
            "referral code makes the new customer the member's referred friend. An item a replenishment rule covers "
            "(by SKU or category) schedules the member's reminder, linking to the item's `url` where given. "
            "Idempotent by "
            "`order_id`: the same order again answers 200 with the first body and changes nothing; the same "
            "`order_id` with other data answers 409 `idempotency_conflict`."
        ),
        request=OrderCreateInputSerializer,
        responses={
            201: OrderResultSerializer,
            200: OpenApiResponse(OrderResultSerializer, description="A replay: the first result, nothing changed."),
            400: BAD_REQUEST,
            401: UNAUTHORIZED,
            409: error_response(
                "The order id was used with other data.",
                "idempotency_conflict",
                "Order 10045 was already reported with different data.",
                "order_id",
            ),
            413: TOO_LARGE,
            422: error_response(
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
                    "points_pending": 1249,
                    "available_at": "2026-12-04T14:03:00+01:00",
                },
                response_only=True,
                status_codes=["201", "200"],
            ),
        ],
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        payload = OrderCreateInputSerializer(data=request.data, context=phone_context(request))
        payload.is_valid(raise_exception=True)
        result = order_record(shop=request_shop(request), order=payload.to_order())
        return Response(
            result.outcome.as_data(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )

    @extend_schema(
        operation_id="orders_list",
        summary="List this shop's orders",
        responses={
            200: paginated("PaginatedOrderList", OrderListItemSerializer),
            400: error_response(
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
    required_scope = ApiScope.ORDERS

    @extend_schema(
        operation_id="orders_retrieve",
        summary="One of this shop's orders, with its refunds",
        responses={
            200: OrderDetailSerializer,
            401: UNAUTHORIZED,
            404: error_response(
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
    required_scope = ApiScope.ORDERS

    @extend_schema(
        operation_id="refunds_create",
        summary="Report a refund",
        description=(
            "Claws back the points the refunded share of the order earned (rounded down; a full refund takes "
            "back exactly what the order earned, never more). The member's balance may go below zero when the "
            "points were already spent. Optionally says why (`reason`, a code from `GET /api/v1/return-reasons/`, "
            "and a `note`), when it happened (`occurred_at`, else now) and which goods came back (`items`: SKUs "
            "of the order, at most what was ordered less what earlier refunds returned). Idempotent by "
            "`refund_id`: the same amount and items again answer 200 with the first body; other ones answer 409 "
            "`idempotency_conflict`. The date, reason and note describe the refund: a replay keeps the first."
        ),
        request=RefundCreateInputSerializer,
        responses={
            201: RefundResultSerializer,
            200: OpenApiResponse(RefundResultSerializer, description="A replay: the first result, nothing changed."),
            400: error_response(
                "Invalid input, or `unknown_return_reason`: `reason` is not one of the club's active reasons.",
                "unknown_return_reason",
                "'too_tight' is not one of the club's return reasons.",
                "reason",
            ),
            401: UNAUTHORIZED,
            404: error_response(
                "No such order in this shop.", "order_not_found", "This shop has no order with that id.", "order_id"
            ),
            409: error_response(
                "The refund id was used with other data.",
                "idempotency_conflict",
                "Refund R-1 was already reported with different data.",
                "refund_id",
            ),
            413: TOO_LARGE,
            422: error_response(
                "More than the order would be refunded (`refund_exceeds_order`), a returned SKU the order does not "
                "have (`returned_item_not_in_order`), more of an item than is left to return "
                "(`return_exceeds_ordered`), or a date in the future (`occurred_in_future`).",
                "refund_exceeds_order",
                "Only 200.00 NOK of order 10045 is left to refund.",
                "amount",
            ),
        },
        examples=[
            OpenApiExample("A partial refund", value={"refund_id": "R-10045-1", "amount": "250.00"}, request_only=True),
            OpenApiExample(
                "A return, with its reason and goods",
                value={
                    "refund_id": "R-10045-2",
                    "amount": "999.00",
                    "occurred_at": "2026-11-27T10:15:00+01:00",
                    "reason": "too_small",
                    "note": "Customer wants the next size up.",
                    "items": [{"sku": "RUN-SHOE-42", "quantity": 1}],
                },
                request_only=True,
            ),
            OpenApiExample(
                "Points clawed back",
                value={
                    "refund_id": "R-10045-1",
                    "order_id": "10045",
                    "member_id": "6f1c1f9e-3f4b-4c1e-9a58-2b7d0f1f7c11",
                    "points_clawed_back": 250,
                    "balance": 2230,
                    "points_returned": 0,
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
        result = refund_record(
            shop=request_shop(request),
            order_id=order_id,
            refund_id=payload.validated_data["refund_id"],
            amount=payload.validated_data["amount"],
            details=payload.to_details(),
        )
        return Response(
            result.outcome.as_data(), status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class ReturnReasonsView(APIView):
    required_scope = ApiScope.ORDERS

    @extend_schema(
        operation_id="return_reasons_list",
        summary="The return reasons a refund may give",
        description=(
            "The club's active return reasons, in the staff's order: a refund's `reason` is one of these codes. "
            "`label` is in the language of `Accept-Language` (nb, da, sv or en)."
        ),
        responses={200: ReturnReasonSerializer(many=True), 401: UNAUTHORIZED},
        examples=[
            OpenApiExample(
                "Return reasons",
                value=[{"code": "too_small", "label": "Too small"}, {"code": "damaged", "label": "Damaged or faulty"}],
                response_only=True,
            )
        ],
        tags=["orders"],
    )
    def get(self, request: Request) -> Response:
        return Response(ReturnReasonSerializer(selectors.return_reasons_active(), many=True).data)
