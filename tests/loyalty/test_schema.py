from __future__ import annotations

import dataclasses

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from loyalty.api.serializers.events import EventResultSerializer
from loyalty.api.serializers.orders import OrderResultSerializer, RefundResultSerializer
from loyalty.campaigns.actions import ActionOutcome
from loyalty.models import ApiScope
from loyalty.orders import OrderOutcome, RefundOutcome

pytestmark = pytest.mark.django_db

OPERATIONS = {
    ("/api/v1/orders/", "post"),
    ("/api/v1/orders/", "get"),
    ("/api/v1/orders/{order_id}/", "get"),
    ("/api/v1/orders/{order_id}/refunds/", "post"),
    ("/api/v1/return-reasons/", "get"),
    ("/api/v1/members/", "get"),
    ("/api/v1/members/", "post"),
    ("/api/v1/members/{member_id}/", "get"),
    ("/api/v1/members/{member_id}/consents/", "get"),
    ("/api/v1/members/{member_id}/consents/", "put"),
    ("/api/v1/members/{member_id}/referral/", "get"),
    ("/api/v1/events/", "post"),
    ("/api/v1/points/preview/", "post"),
    ("/api/v1/redemptions/", "post"),
    ("/api/v1/redemptions/{redemption_id}/capture/", "post"),
    ("/api/v1/redemptions/{redemption_id}/release/", "post"),
    ("/api/v1/vouchers/{code}/", "get"),
    ("/api/v1/vouchers/{code}/redeem/", "post"),
}


def test_schema_generates_without_warnings_and_describes_every_operation(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    schema = yaml.safe_load(out.read_text())
    found = {(path, method) for path, ops in schema["paths"].items() for method in ops}
    assert found == OPERATIONS
    for path, method in OPERATIONS:
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"ApiKey": []}]
        assert "401" in operation["responses"]
        # The API key scope it needs, said in its description and refused with 403 scope_missing
        scope = operation["x-klubb-scope"]
        assert scope in ApiScope.values and scope != ApiScope.MEMBERS_ALL
        assert operation["description"].endswith(f"API key scope: `{scope}`.")
        refused = operation["responses"]["403"]["content"]["application/json"]
        assert refused["examples"]["scope_missing"]["value"]["code"] == "scope_missing"
        throttled = operation["responses"]["429"]
        assert "Retry-After" in throttled["headers"]
        assert throttled["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
    create = schema["paths"]["/api/v1/orders/"]["post"]
    assert {"200", "201", "400", "409", "413", "422"} <= set(create["responses"])
    assert create["requestBody"]["content"]["application/json"]["examples"]
    reserve = schema["paths"]["/api/v1/redemptions/"]["post"]
    assert {"200", "201", "400", "409", "422"} <= set(reserve["responses"])
    assert reserve["requestBody"]["content"]["application/json"]["examples"]
    for action in ("capture", "release"):
        operation = schema["paths"][f"/api/v1/redemptions/{{redemption_id}}/{action}/"]["post"]
        assert {"200", "404", "409"} <= set(operation["responses"])
    events = schema["paths"]["/api/v1/events/"]["post"]
    assert {"200", "201", "400", "409", "422"} <= set(events["responses"])
    assert events["requestBody"]["content"]["application/json"]["examples"]


def test_schema_and_docs_are_served(client):
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()  # swagger-ui is served from our static files


@pytest.mark.parametrize(
    ("outcome", "serializer"),
    [
        (OrderOutcome, OrderResultSerializer),
        (RefundOutcome, RefundResultSerializer),
        (ActionOutcome, EventResultSerializer),
    ],
)
def test_the_documented_result_has_exactly_the_fields_the_service_returns(outcome, serializer):
    # The views answer with the outcome's data (stored, so a replay answers the same); the schema documents it
    # with the serializer: they must not drift apart.
    assert list(serializer().fields) == [field.name for field in dataclasses.fields(outcome)]


def test_the_schema_says_what_a_member_reference_and_a_consent_change_need_at_least():
    """One of email, phone or customer id (not blank) names a member; a consent change gives one of the two
    channels, so its body cannot be left out. A client (and the fuzzer) knows before being refused."""
    schema = SchemaGenerator().get_schema(request=None, public=True)

    components = schema["components"]["schemas"]
    member = components["MemberRefRequest"]["anyOf"]
    assert [branch["required"] for branch in member] == [["email"], ["phone"], ["external_id"]]
    assert all(branch["properties"][branch["required"][0]]["minLength"] == 1 for branch in member)
    assert components["ConsentsRequest"]["anyOf"] == [
        {"required": ["email_marketing"]},
        {"required": ["sms_marketing"]},
    ]
    assert schema["paths"]["/api/v1/members/{member_id}/consents/"]["put"]["requestBody"]["required"] is True
