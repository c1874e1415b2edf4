from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from loyalty.api.serializers.orders import OrderCreateInputSerializer
from loyalty.models import EntryKind, LedgerEntry, Order, PointsAccount, Refund
from members.models import Member, User
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db


def _written() -> tuple[int, ...]:
    return (
        Order.objects.count(),
        Refund.objects.count(),
        LedgerEntry.objects.count(),
        Member.objects.count(),
        User.objects.count(),
        sum(PointsAccount.objects.values_list("balance", flat=True)),
    )


def test_order_creates_member_and_returns_points(api, tiers, programme):
    response = api.post("/api/v1/orders/", order_payload(amount="499.90"), format="json")
    assert response.status_code == 201
    body = response.json()
    member = Member.objects.get(user__email="kari@example.com")
    assert body == {
        "order_id": "1001",
        "member_id": str(member.public_id),
        "points_awarded": 499,
        "balance": 499,
        "tier": "Bronze",
        "points_pending": 0,
        "available_at": None,
        "no_points_reason": None,
    }
    call_command("check_ledger")


def test_replayed_order_awards_points_once(api, tiers, programme):
    first = api.post("/api/v1/orders/", order_payload(), format="json")
    again = api.post("/api/v1/orders/", order_payload(), format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).count() == 1
    assert PointsAccount.objects.get().balance == 1000


def test_replay_with_differently_written_equal_payload_is_a_replay(api, tiers, programme):
    api.post("/api/v1/orders/", order_payload(amount="1000.00"), format="json")
    payload = order_payload(amount="1000")
    payload["currency"] = "nok"
    payload["occurred_at"] = "2026-11-20T11:00:00Z"  # the same instant in UTC
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 200


def test_replay_with_different_payload_is_a_conflict_and_changes_nothing(api, tiers, programme):
    api.post("/api/v1/orders/", order_payload(amount="1000.00"), format="json")
    before = _written()
    response = api.post("/api/v1/orders/", order_payload(amount="2000.00"), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert response.json()["field"] == "order_id"
    assert _written() == before


def test_same_order_id_in_two_shops_are_two_orders(api, other_api, tiers, programme):
    assert api.post("/api/v1/orders/", order_payload(amount="100.00"), format="json").status_code == 201
    assert other_api.post("/api/v1/orders/", order_payload(amount="100.00"), format="json").status_code == 201
    assert Order.objects.count() == 2
    assert PointsAccount.objects.get().balance == 200


def test_member_found_by_shop_customer_id_and_phone(api, tiers, programme):
    payload = order_payload(order_id="1", amount="100.00")
    payload["member"] = {"email": "kari@example.com", "external_id": "C-1", "phone": "912 34 567"}
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 201
    by_id = order_payload(order_id="2", amount="100.00")
    by_id["member"] = {"external_id": "C-1"}
    by_phone = order_payload(order_id="3", amount="100.00")
    by_phone["member"] = {"phone": "+47 91234567"}
    assert api.post("/api/v1/orders/", by_id, format="json").status_code == 201
    assert api.post("/api/v1/orders/", by_phone, format="json").status_code == 201
    assert Member.objects.count() == 1
    assert Member.objects.get().phone == "+4791234567"
    assert PointsAccount.objects.get().balance == 300


def test_unknown_member_without_email_is_refused(api, tiers, programme):
    payload = order_payload()
    payload["member"] = {"external_id": "nobody"}
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 422
    assert response.json()["code"] == "member_not_enrollable"
    assert _written() == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize(
    ("change", "status", "code", "field"),
    [
        ({"amount": "-5.00"}, 400, "min_value", "amount"),
        ({"amount": "abc"}, 400, "invalid", "amount"),
        ({"amount": "123456789012345.00"}, 400, "max_digits", "amount"),
        ({"amount": "5000000.00"}, 422, "amount_out_of_range", "amount"),
        ({"amount": "10.001"}, 400, "max_decimal_places", "amount"),
        ({"currency": "XYZ"}, 400, "unknown_currency", "currency"),
        ({"currency": "SEK"}, 422, "currency_mismatch", "currency"),
        ({"occurred_at": "yesterday"}, 400, "invalid", "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00Z"}, 422, "occurred_in_future", "occurred_at"),
        ({"occurred_at": "0001-01-01T00:00:00+03:00"}, 400, "overflow", "occurred_at"),  # before the year 1 in UTC
        ({"order_id": ""}, 400, "blank", "order_id"),
        ({"order_id": "a" * 101}, 400, "max_length", "order_id"),
        ({"order_id": "bad id with spaces"}, 400, "invalid_id", "order_id"),
        ({"member": {}}, 400, "member_identifier_required", "member"),
        ({"member": {"email": "not-an-email"}}, 400, "invalid", "member.email"),
        ({"member": {"phone": "12"}}, 400, "invalid_phone", "member.phone"),
        ({"tax": "2000.00"}, 422, "tax_exceeds_amount", "tax"),
        ({"items": [{"sku": "x", "quantity": 0, "unit_price": "1.00"}]}, 400, "min_value", "items.0.quantity"),
        ({"items": "nope"}, 400, "not_a_list", "items"),
    ],
)
def test_bad_orders_get_a_clear_error_and_change_nothing(api, tiers, programme, change, status, code, field):
    response = api.post("/api/v1/orders/", {**order_payload(), **change}, format="json")
    assert response.status_code == status, response.json()
    body = response.json()
    assert (body["code"], body["field"]) == (code, field)
    assert body["message"]
    assert _written() == (0, 0, 0, 0, 0, 0)


@pytest.mark.parametrize("missing", ["order_id", "member", "amount", "currency", "occurred_at"])
def test_missing_fields_are_named(api, tiers, programme, missing):
    payload = order_payload()
    del payload[missing]
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "required"
    assert response.json()["field"] == missing


def test_malformed_json_is_refused(api, tiers, programme):
    response = api.post("/api/v1/orders/", data='{"order_id": "1",', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "malformed_json"


def test_non_object_json_is_refused(api, tiers, programme):
    response = api.post("/api/v1/orders/", data="[1, 2]", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_body_over_the_limit_is_refused(api, tiers, programme, settings):
    settings.KLUBB_MAX_REQUEST_BODY_BYTES = 2000
    payload = order_payload()
    payload["items"] = payload["items"] * 40
    response = api.post("/api/v1/orders/", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert _written() == (0, 0, 0, 0, 0, 0)


def test_form_encoded_body_is_unsupported(api, tiers, programme):
    response = api.post("/api/v1/orders/", data="order_id=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"


def test_requests_without_a_valid_key_are_refused(client, api, tiers, programme):
    assert client.post("/api/v1/orders/", order_payload(), content_type="application/json").json()["code"] == (
        "not_authenticated"
    )
    bad = client.post(
        "/api/v1/orders/", order_payload(), content_type="application/json", HTTP_AUTHORIZATION="Bearer klb_nope0000_x"
    )
    assert bad.status_code == 401
    assert bad.json()["code"] == "invalid_api_key"
    assert bad["WWW-Authenticate"].startswith("Bearer")
    assert Order.objects.count() == 0


def test_revoked_key_is_refused(shop, tiers, programme):
    from rest_framework.test import APIClient

    from loyalty.shops import api_key_create, api_key_revoke

    key, raw = api_key_create(shop=shop)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/orders/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert key.key_hash != raw and raw.startswith(key.prefix)
    api_key_revoke(key=key)
    assert client.get("/api/v1/orders/").status_code == 401


def test_unknown_api_url_answers_json_404(api):
    response = api.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- Refunds ----------------------------------------------------------------------------------


def _order(api, amount="1000.00", order_id="1001"):
    response = api.post("/api/v1/orders/", order_payload(order_id=order_id, amount=amount), format="json")
    assert response.status_code == 201
    return response.json()


def test_partial_refund_claws_back_its_share(api, tiers, programme):
    _order(api, amount="1000.00")
    response = api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "250.00"}, format="json")
    assert response.status_code == 201
    assert response.json()["points_clawed_back"] == 250
    assert response.json()["balance"] == 750
    entry = LedgerEntry.objects.get(kind=EntryKind.CLAWBACK)
    assert (entry.points, entry.refund.external_id, entry.order.external_id) == (-250, "R1", "1001")
    call_command("check_ledger")


def test_refunds_never_claw_back_more_than_the_order_earned(api, tiers, programme):
    _order(api, amount="999.99")  # 999 points
    for n, amount in enumerate(["333.33", "333.33", "333.33"]):
        api.post("/api/v1/orders/1001/refunds/", {"refund_id": f"R{n}", "amount": amount}, format="json")
    order = Order.objects.get()
    assert order.refunded_amount == order.amount
    assert order.points_clawed_back == order.points_awarded == 999
    assert PointsAccount.objects.get().balance == 0
    over = api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R9", "amount": "0.01"}, format="json")
    assert over.status_code == 422
    assert over.json()["code"] == "refund_exceeds_order"


def test_replayed_refund_claws_back_once(api, tiers, programme):
    _order(api)
    first = api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "100.00"}, format="json")
    again = api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "100.00"}, format="json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    assert LedgerEntry.objects.filter(kind=EntryKind.CLAWBACK).count() == 1


def test_refund_id_reused_with_other_amount_is_a_conflict(api, tiers, programme):
    _order(api)
    api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "100.00"}, format="json")
    before = _written()
    response = api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "200.00"}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert _written() == before


def test_refund_of_spent_points_takes_the_balance_below_zero(api, tiers, programme):
    from loyalty.ledger import points_redeem

    _order(api)
    points_redeem(member=Member.objects.get(), points=1000)
    api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "1000.00"}, format="json")
    assert PointsAccount.objects.get().balance == -1000
    call_command("check_ledger")


@pytest.mark.parametrize(
    ("payload", "status", "code", "field"),
    [
        ({"refund_id": "R1", "amount": "0"}, 400, "min_value", "amount"),
        ({"refund_id": "R1", "amount": "-1"}, 400, "min_value", "amount"),
        ({"refund_id": "R1", "amount": "1500.00"}, 422, "refund_exceeds_order", "amount"),
        ({"amount": "10.00"}, 400, "required", "refund_id"),
        ({"refund_id": "R1"}, 400, "required", "amount"),
    ],
)
def test_bad_refunds_get_a_clear_error_and_change_nothing(api, tiers, programme, payload, status, code, field):
    _order(api)
    before = _written()
    response = api.post("/api/v1/orders/1001/refunds/", payload, format="json")
    assert response.status_code == status
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert _written() == before


def test_refund_of_unknown_order_is_404(api, tiers, programme):
    response = api.post("/api/v1/orders/nope/refunds/", {"refund_id": "R1", "amount": "1.00"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "order_not_found"


# --- A shop sees only its own data ---------------------------------------------------------------


def test_shop_cannot_read_another_shops_order(api, other_api, tiers, programme):
    _order(api)
    assert other_api.get("/api/v1/orders/1001/").status_code == 404
    assert api.get("/api/v1/orders/1001/").status_code == 200


def test_shop_cannot_refund_another_shops_order(api, other_api, tiers, programme):
    _order(api)
    response = other_api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "1.00"}, format="json")
    assert response.status_code == 404
    assert Refund.objects.count() == 0


def test_shop_lists_only_its_own_orders(api, other_api, tiers, programme):
    _order(api, order_id="mine")
    other_api.post("/api/v1/orders/", order_payload(order_id="theirs"), format="json")
    mine = api.get("/api/v1/orders/").json()
    assert [row["order_id"] for row in mine["results"]] == ["mine"]
    assert mine["count"] == 1


def test_order_detail_shows_refunds(api, tiers, programme):
    _order(api)
    api.post("/api/v1/orders/1001/refunds/", {"refund_id": "R1", "amount": "100.00"}, format="json")
    body = api.get("/api/v1/orders/1001/").json()
    assert body["refunded_amount"] == "100.00"
    assert body["refunds"][0]["refund_id"] == "R1"
    assert body["refunds"][0]["points_clawed_back"] == 100


def test_order_list_is_paginated(api, tiers, programme):
    for n in range(3):
        _order(api, order_id=f"o{n}", amount="10.00")
    page = api.get("/api/v1/orders/?page_size=2").json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]


def test_an_order_for_a_known_member_takes_a_fixed_number_of_queries(api, tiers, programme):
    """The query count of the busiest endpoint is part of its contract: bench/api_load.py measures its cost."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.post("/api/v1/orders/", order_payload(order_id="1"), format="json")  # the member exists from here on
    counts = []
    for order_id in ("2", "3"):
        with CaptureQueriesContext(connection) as queries:
            response = api.post("/api/v1/orders/", order_payload(order_id=order_id), format="json")
        assert response.status_code == 201
        counts.append(len(queries))
    # The replay check, the member with their account (locked), the tier window, the order with its answer, the
    # ledger's write (on PostgreSQL one statement for the balance, the entry and its lot; elsewhere three), the
    # message, the referral check, and the savepoint's two. The key, programme, tiers, rules, templates and
    # webhook subscriptions come from the process's snapshots (no subscription here: no outbox event).
    assert counts[0] == counts[1] <= (9 if connection.vendor == "postgresql" else 11), counts
    # One transaction (here a savepoint in the test's): the outbox event and the message add none of their own.
    assert len([q for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]) == 1


def test_an_order_for_a_member_at_the_top_tier_does_not_count_tier_points(api, tiers, programme):
    """Orders only lift a member, so at the top tier there is nothing to count: one query less per order."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.post("/api/v1/orders/", order_payload(order_id="1", amount="6000.00"), format="json")  # Gold from here
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/orders/", order_payload(order_id="2"), format="json")
    assert response.status_code == 201 and response.json()["tier"] == "Gold"
    assert not [q for q in queries.captured_queries if 'SUM("loyalty_ledgerentry"."tier_points")' in q["sql"]]
    assert len(queries) <= (8 if connection.vendor == "postgresql" else 10)


def test_an_order_enrolling_a_new_member_takes_a_fixed_number_of_queries(api, tiers, programme):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    api.post("/api/v1/orders/", order_payload(order_id="1"), format="json")  # the snapshots are read from here on
    counts = []
    for order_id in ("2", "3"):
        payload = order_payload(order_id=order_id, email=f"new-{order_id}@example.com")
        with CaptureQueriesContext(connection) as queries:
            response = api.post("/api/v1/orders/", payload, format="json")
        assert response.status_code == 201
        counts.append(len(queries))
    # Enrolment adds the lookups of the user and its address, their inserts, the member, its referral code, the
    # welcome message, the sign-up points check, the member.enrolled event, the new account and their savepoints.
    assert counts[0] == counts[1] <= 35, counts


@pytest.mark.parametrize(
    "query", ["page=", "page=0", "page=x", "page=last", "page_size=", "page_size=0", "page_size=-1"]
)
def test_a_page_or_page_size_that_is_not_a_whole_number_from_1_is_refused(api, tiers, programme, query):
    """DRF would read ``page=`` as page 1: the schema says integer, so anything else is a 400 naming the field."""
    _order(api)
    response = api.get(f"/api/v1/orders/?{query}")
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["field"]) == ("invalid", query.split("=")[0])


def test_a_page_past_the_end_is_not_found(api, tiers, programme):
    _order(api)
    response = api.get("/api/v1/orders/?page=2")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert response.json()["message"] == "There is no page 2 in this list."


def test_each_order_input_binds_fields_of_its_own():
    # The plain fields are copied, not built again, for each order (CopiedFields): never shared between two, and
    # each still validates its own order.
    first = OrderCreateInputSerializer(data=order_payload(order_id="A-1", amount="100.00"))
    second = OrderCreateInputSerializer(data=order_payload(order_id="bad id", amount="-5"))

    assert first.is_valid(), first.errors
    assert second.is_valid() is False
    assert set(second.errors) == {"order_id", "amount", "items"}
    assert first.validated_data["order_id"] == "A-1"
    for name in ("order_id", "amount", "member", "items", "discount_codes"):
        assert first.fields[name] is not second.fields[name] and first.fields[name].parent is first
    assert first.fields["order_id"].validators == second.fields["order_id"].validators
