"""``POST /api/v1/points/preview/``: what an order would earn now, equal to what it then earns; writes nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from loyalty.api.serializers.points import PreviewInputSerializer
from loyalty.models import EarningRule, LedgerEntry, Order, PointsAccount, RuleKind
from members.models import Member, User
from tests.conftest import make_order, order_payload

pytestmark = pytest.mark.django_db

PREVIEW = "/api/v1/points/preview/"


def cart(amount: str = "1000.00", **extra) -> dict:
    payload = order_payload(amount=amount, **extra)
    return {key: payload[key] for key in ("member", "amount", "currency", "items") if key in payload} | extra


def written() -> tuple[int, ...]:
    return (Order.objects.count(), LedgerEntry.objects.count(), Member.objects.count(), User.objects.count(),
            PointsAccount.objects.count())  # fmt: skip


@pytest.fixture
def running_double(db):
    """Double points on running shoes, capped at 1500 bonus points per member."""
    return EarningRule.objects.create(
        name="Double on running", kind=RuleKind.MULTIPLIER, multiplier=Decimal("2"), categories="running",
        cap_per_member=1500, starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip


def test_the_preview_is_what_the_same_order_then_earns_line_by_line(api, shop, tiers, programme, running_double):
    make_order(shop, order_id="earlier", amount="1200.00")  # Kari: Silver, and 1200 of the rule's cap used
    before = written()

    preview = api.post(PREVIEW, cart(amount="1000.00"), format="json")

    assert preview.status_code == 200
    assert preview.json() == {
        "points": 1550,
        "lines": [
            {"rule": "base", "points": 1000},
            {"rule": "tier", "points": 250},  # Silver x 1.25
            {"rule": "Double on running", "points": 300},  # what is left of its cap of 1500
        ],
        "tier": "Silver",
    }
    assert written() == before  # nothing written, not even a member or an account
    order = api.post("/api/v1/orders/", order_payload(order_id="next", amount="1000.00"), format="json")
    assert order.json()["points_awarded"] == preview.json()["points"]


def test_without_a_member_or_for_a_customer_not_yet_a_member_it_answers_for_the_entry_tier(
    api, shop, tiers, programme, running_double
):
    anonymous = api.post(PREVIEW, {k: v for k, v in cart().items() if k != "member"}, format="json")
    stranger = api.post(PREVIEW, cart(member={"email": "new@example.com"}), format="json")

    lines = [{"rule": "base", "points": 1000}, {"rule": "Double on running", "points": 1000}]
    expected = {"points": 2000, "lines": lines, "tier": "Bronze"}
    assert anonymous.json() == stranger.json() == expected
    assert not Member.objects.exists()
    first = api.post("/api/v1/orders/", order_payload(email="new@example.com"), format="json")
    assert first.json()["points_awarded"] == expected["points"]


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"currency": "SEK"}, 422, "currency_mismatch", "currency"),
        ({"amount": "-1.00"}, 400, None, "amount"),
        ({"tax": "2000.00"}, 422, "tax_exceeds_amount", "tax"),
        ({"member": {}}, 400, "member_identifier_required", None),
    ],
)
def test_a_bad_cart_gets_a_clear_error(api, shop, tiers, programme, change, status, code, field):
    response = api.post(PREVIEW, cart() | change, format="json")

    assert response.status_code == status, response.json()
    body = response.json()
    assert code is None or body["code"] == code
    assert field is None or body["field"] == field
    assert body["message"]


def test_the_preview_needs_a_shop_key(client, shop, tiers, programme):
    assert client.post(PREVIEW, cart(), content_type="application/json").status_code == 401


def test_the_member_is_found_as_an_order_finds_them_customer_id_then_email_then_phone(api, shop, tiers, programme):
    make_order(shop, order_id="a", amount="5000.00", email="gold@example.com", external_id="c-1")
    make_order(shop, order_id="b", amount="1200.00", email="silver@example.com", phone="+4791234567")

    def tier(member: dict) -> str:
        return api.post(PREVIEW, cart(member=member), format="json").json()["tier"]

    assert tier({"external_id": "c-1", "email": "silver@example.com"}) == "Gold"
    assert tier({"external_id": "unknown", "email": "silver@example.com"}) == "Silver"
    assert tier({"email": "GOLD@example.com", "phone": "+4791234567"}) == "Gold"
    assert tier({"email": "nobody@example.com", "phone": "+4791234567"}) == "Silver"
    assert tier({"email": "nobody@example.com"}) == "Bronze"  # a new member's entry tier


def test_a_preview_for_a_member_costs_one_query_without_capped_rules(
    api, shop, tiers, programme, django_assert_num_queries
):
    make_order(shop, order_id="earlier", amount="1200.00")
    api.post(PREVIEW, cart(), format="json")  # the API key, the programme and the rules are kept per process

    with django_assert_num_queries(1):
        preview = api.post(PREVIEW, cart(), format="json")

    assert preview.json()["tier"] == "Silver"


def test_each_preview_input_binds_fields_of_its_own_and_reads_its_own_context():
    # The plain fields are copied, not built again, for each instance (CopiedFields): never shared between two.
    def body(phone: str) -> dict:
        return cart(member={"phone": phone}) | {"customer_tags": ["retail"]}

    norway = PreviewInputSerializer(data=body("912 34 567"), context={"region": "NO"})
    sweden = PreviewInputSerializer(data=body("070-123 45 67"), context={"region": "SE"})

    assert norway.is_valid() and sweden.is_valid()
    assert norway.validated_data["member"]["phone"] == "+4791234567"
    assert sweden.validated_data["member"]["phone"] == "+46701234567"
    for name in ("amount", "currency", "member", "items", "customer_tags"):
        assert norway.fields[name] is not sweden.fields[name] and norway.fields[name].parent is norway
    items = norway.fields["items"].child
    assert items.fields["unit_price"] is not sweden.fields["items"].child.fields["unit_price"]
    assert items.fields["unit_price"].root is norway
    assert PreviewInputSerializer(data=body("912 34 567") | {"amount": "-1"}).is_valid() is False
