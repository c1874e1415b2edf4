"""``/api/v1/vouchers/``: check a voucher (or a friend's discount code, ``loyalty.hooks.voucher_lookup``), and use
it on an order."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty import hooks, selectors
from loyalty.api.schema import BAD_REQUEST, TOO_LARGE, UNAUTHORIZED, error_response
from loyalty.api.serializers.rewards import VoucherRedeemInputSerializer, VoucherSerializer
from loyalty.errors import VoucherNotFound
from loyalty.models import ApiScope
from loyalty.rewards import voucher_use
from loyalty.shops.auth import request_shop

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
    "discount": None,
}
FRIEND_CODE_EXAMPLE = {
    "code": "K7QH3MZP",
    "valid": True,
    "status": "issued",
    "kind": "friend_discount",
    "reward_id": None,
    "reward_name": "10% off your first order of NOK 300.00 or more",
    "how_to_use": "Enter the code at checkout. One use per new customer.",
    "expires_at": None,
    "member_id": None,
    "issued_at": "2026-10-02T09:30:00+02:00",
    "used_at": None,
    "used_order_id": None,
    "discount": {"kind": "percent", "value": "10.00", "minimum_order": "300.00", "currency": "NOK"},
}
VOUCHER_NOT_FOUND = error_response(
    "No voucher has this code.", "voucher_not_found", "No voucher has this code.", "code"
)


class VoucherDetailView(APIView):
    required_scope = ApiScope.VOUCHERS

    @extend_schema(
        operation_id="vouchers_retrieve",
        summary="Check a voucher",
        description=(
            "Whether the voucher can still be used (`valid`), its status, what it gives and the member. A voucher "
            "is a reward the member paid for with points (`kind: reward`) or a personal win-back offer "
            "(`kind: winback`, valid until `expires_at`). Codes are case-insensitive; spaces and dashes are "
            "ignored.\n\n"
            "A referred friend's discount (`kind: friend_discount`) says what to take off the order in `discount`: "
            "the friend's personal code, or a member's referral code, which any new customer may use once at "
            "checkout. For a referral code give the customer's `email`: `valid` is then false for the referrer, "
            "for an address that had a friend's discount, and for a member who ordered or was referred before. "
            "A shop selling in another currency than the discount's can use only a percent discount without a "
            "minimum order. A friend's code is used by the order that carries it in `discount_codes`."
        ),
        parameters=[
            OpenApiParameter(
                "email", str, description="The customer's email, to check a referral code used as a friend's discount."
            )
        ],
        responses={200: VoucherSerializer, 401: UNAUTHORIZED, 404: VOUCHER_NOT_FOUND},
        examples=[
            OpenApiExample("An unused voucher", value=VOUCHER_EXAMPLE, response_only=True),
            OpenApiExample("A referral code as a friend's discount", value=FRIEND_CODE_EXAMPLE, response_only=True),
        ],
        tags=["vouchers"],
    )
    def get(self, request: Request, code: str) -> Response:
        shop = request_shop(request)
        voucher = selectors.voucher_by_code(code=code)
        if voucher is not None:
            return Response(VoucherSerializer(VoucherSerializer.build(voucher=voucher, shop_id=shop.pk)).data)
        email = request.query_params.get("email", "")[:254]
        answer = hooks.voucher_lookup(code=code[:64], shop=shop, email=email)
        if answer is None:
            raise VoucherNotFound()
        return Response(VoucherSerializer(answer).data)


class VoucherRedeemView(APIView):
    required_scope = ApiScope.VOUCHERS

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
            409: error_response(
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
