from __future__ import annotations

import pytest

from loyalty.models import ShopCustomer
from members.models import ConsentSource, Member
from members.services import member_erase
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db


def test_enrol_member_returns_201_with_standing(api, shop, tiers, programme):
    response = api.post(
        "/api/v1/members/",
        {"email": "Ola@Example.com", "first_name": "Ola", "phone": "91234567", "language": "nb", "external_id": "C-9"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["email"] == "ola@example.com"
    assert body["phone"] == "+4791234567"
    assert body["external_id"] == "C-9"
    assert body["balance"] == 0
    assert body["tier"]["name"] == "Bronze"
    assert body["next_tier"]["name"] == "Silver"
    assert body["points_to_next_tier"] == 1000
    assert ShopCustomer.objects.get(shop=shop).member.user.email == "ola@example.com"


def test_enrolling_an_existing_email_returns_the_member_unchanged(api, tiers, programme):
    api.post("/api/v1/members/", {"email": "ola@example.com", "first_name": "Ola"}, format="json")
    again = api.post("/api/v1/members/", {"email": "OLA@example.com", "first_name": "Someone else"}, format="json")
    assert again.status_code == 200
    assert again.json()["first_name"] == "Ola"
    assert Member.objects.count() == 1


def test_enrolling_with_a_phone_of_another_member_is_a_conflict(api, tiers, programme):
    api.post("/api/v1/members/", {"email": "a@example.com", "phone": "+4791234567"}, format="json")
    response = api.post("/api/v1/members/", {"email": "b@example.com", "phone": "+4791234567"}, format="json")
    assert response.status_code == 409
    assert (response.json()["code"], response.json()["field"]) == ("phone_in_use", "phone")
    assert Member.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({}, "required", "email"),
        ({"email": "nope"}, "invalid", "email"),
        ({"email": "a@example.com", "language": "de"}, "invalid_choice", "language"),
        ({"email": "a@example.com", "birthday": "31.12.1990"}, "invalid", "birthday"),
        ({"email": "a@example.com", "phone": "abc"}, "invalid_phone", "phone"),
    ],
)
def test_bad_enrolments_are_refused(api, tiers, programme, payload, code, field):
    response = api.post("/api/v1/members/", payload, format="json")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == (code, field)
    assert Member.objects.count() == 0


def test_look_member_up_by_email_phone_and_external_id(api, tiers, programme):
    payload = order_payload(amount="1500.00")
    payload["member"] = {"email": "kari@example.com", "phone": "+4791234567", "external_id": "C-1"}
    api.post("/api/v1/orders/", payload, format="json")
    for query in ("email=KARI@example.com", "phone=91234567", "external_id=C-1"):
        body = api.get(f"/api/v1/members/?{query}").json()
        assert body["count"] == 1, query
        row = body["results"][0]
        assert (row["balance"], row["tier"]["name"], row["next_tier"]["name"]) == (1500, "Silver", "Gold")
        assert row["points_to_next_tier"] == 3500


def test_lookup_needs_a_filter(api):
    response = api.get("/api/v1/members/")
    assert response.status_code == 400
    assert response.json()["code"] == "filter_required"


def test_lookup_of_unknown_email_is_an_empty_list(api):
    assert api.get("/api/v1/members/?email=nobody@example.com").json()["count"] == 0


def test_member_detail_by_id(api, tiers, programme):
    member_id = api.post("/api/v1/orders/", order_payload(), format="json").json()["member_id"]
    body = api.get(f"/api/v1/members/{member_id}/").json()
    assert body["member_id"] == member_id
    assert body["balance"] == 1000
    assert body["tier"]["benefits"] == []


def test_unknown_member_id_is_404(api):
    response = api.get("/api/v1/members/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert response.json()["code"] == "member_not_found"


def test_a_shop_sees_only_its_own_customer_ids(api, other_api, tiers, programme):
    payload = order_payload()
    payload["member"] = {"email": "kari@example.com", "external_id": "MINE-1"}
    member_id = api.post("/api/v1/orders/", payload, format="json").json()["member_id"]
    assert other_api.get("/api/v1/members/?external_id=MINE-1").json()["count"] == 0
    assert other_api.get(f"/api/v1/members/{member_id}/").status_code == 404  # not its customer
    assert api.get(f"/api/v1/members/{member_id}/").json()["external_id"] == "MINE-1"


def test_member_detail_takes_a_fixed_number_of_queries(api, tiers, programme, django_assert_max_num_queries):
    member_id = api.post("/api/v1/orders/", order_payload(order_id="0", amount="5.00"), format="json").json()[
        "member_id"
    ]
    for n in range(1, 20):
        api.post("/api/v1/orders/", order_payload(order_id=str(n), amount="5.00"), format="json")
    with django_assert_max_num_queries(8):
        assert api.get(f"/api/v1/members/{member_id}/").status_code == 200


def test_a_blank_lookup_filter_is_an_error_not_ignored(api, shop, tiers, programme):
    response = api.get("/api/v1/members/?email=&external_id=C-1")
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"]) == ("blank", "email")


def test_an_erased_member_is_gone_from_the_api_with_member_erased(api, shop, tiers, programme):
    """Issue 14, finding 6: a member who had their personal data deleted is no longer readable by id."""
    reply = api.post("/api/v1/members/", {"email": "gone@example.com", "first_name": "Gone"}, format="json")
    member = Member.objects.get(public_id=reply.json()["member_id"])
    member_erase(member=member, source=ConsentSource.ERASURE)

    detail = api.get(f"/api/v1/members/{member.public_id}/")
    consents = api.get(f"/api/v1/members/{member.public_id}/consents/")
    listed = api.get("/api/v1/members/?email=gone@example.com")

    assert (detail.status_code, detail.json()["code"]) == (404, "member_erased")
    assert (consents.status_code, consents.json()["code"]) == (404, "member_erased")
    assert listed.json()["count"] == 0
    unknown = api.get("/api/v1/members/00000000-0000-4000-8000-000000000000/")
    assert (unknown.status_code, unknown.json()["code"]) == (404, "member_not_found")
