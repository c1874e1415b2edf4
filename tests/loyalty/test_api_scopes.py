"""API key scopes (issue 14, finding 4): chosen when a key is made (the admin's checkboxes, ``create_shop --scope``),
shown in the admin, never widened afterwards; ``members:all`` is the explicit grant to see every member and the
one scope staff can take away. Each operation's scope and its 403 ``scope_missing`` are in
tests/test_permission_matrix.py; the migration that gave existing keys every scope is in test_migrations.py."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from rest_framework.response import Response
from rest_framework.test import APIClient, APIRequestFactory
from rest_framework.views import APIView

from loyalty.models import OPERATIONAL_SCOPES, ApiKey, ApiScope
from loyalty.shops import api_key_create
from members.models import AuditAction, AuditEntry
from tests.conftest import make_order

pytestmark = pytest.mark.django_db

RAW_KEY = re.compile(r"klb_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}")
EVERY_SCOPE = [*OPERATIONAL_SCOPES, ApiScope.MEMBERS_ALL]


def api_for(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def test_a_new_key_may_do_every_operation_for_its_own_customers_only(shop):
    key, _raw = api_key_create(shop=shop)

    assert key.scopes == list(OPERATIONAL_SCOPES)
    assert ApiScope.MEMBERS_ALL not in key.scopes and not key.sees_all_members
    assert set(OPERATIONAL_SCOPES) == {
        "orders", "members:read", "members:write", "consents", "redemptions", "vouchers", "events", "referrals",
    }  # fmt: skip


def test_a_key_cannot_be_made_with_a_scope_that_does_not_exist(shop):
    with pytest.raises(ValueError, match="members:delete"):
        api_key_create(shop=shop, scopes=["orders", "members:delete"])
    assert not ApiKey.objects.exists()


class NamesNoScope(APIView):
    def get(self, request: Any) -> Response:
        return Response({"reached": True})


def test_an_operation_that_names_no_scope_is_refused_to_every_key(shop):
    _key, raw = api_key_create(shop=shop, scopes=EVERY_SCOPE)
    request = APIRequestFactory().get("/api/v1/new/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    response = NamesNoScope.as_view()(request)

    assert response.status_code == 403
    assert response.data["code"] == "permission_denied"


def test_a_key_with_only_some_scopes_is_refused_the_others_by_name(shop, tiers, programme):
    _key, raw = api_key_create(shop=shop, scopes=["orders"])
    client = api_for(raw)

    assert client.get("/api/v1/orders/").status_code == 200
    refused = client.post("/api/v1/members/", {"email": "ola@example.com"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["code"] == "scope_missing" and "members:write" in refused.json()["message"]


def test_create_shop_takes_the_keys_scopes(tiers, programme):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_shop", "--name", "Kiosk", "--currency", "NOK", "--scope", "orders", stdout=out, stderr=err)
    call_command("create_shop", "--name", "Till", "--currency", "NOK", stdout=io.StringIO(), stderr=io.StringIO())

    assert ApiKey.objects.get(shop__name="Kiosk").scopes == ["orders"]
    assert ApiKey.objects.get(shop__name="Till").scopes == list(OPERATIONAL_SCOPES)
    assert "orders" in err.getvalue()
    assert (
        api_for(out.getvalue().strip().splitlines()[-1]).get("/api/v1/members/?email=a@example.com").json()["code"]
        == "scope_missing"
    )


# --- The admin ------------------------------------------------------------------------------------------------


def admin_url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


def test_staff_choose_a_new_keys_scopes_with_every_operation_but_members_all_ticked(admin_client, shop):
    form = admin_client.get(admin_url("loyalty_apikey_add"), {"shop": shop.pk}).context["adminform"].form
    assert form.fields["scopes"].initial == list(OPERATIONAL_SCOPES)
    assert [value for value, _label in form.fields["scopes"].choices] == ApiScope.values

    response = admin_client.post(
        admin_url("loyalty_apikey_add"),
        {"shop": shop.pk, "name": "till", "scopes": ["orders", "redemptions"]},
        follow=True,
    )

    key = ApiKey.objects.get()
    assert key.scopes == ["orders", "redemptions"]
    raw = next(RAW_KEY.search(str(m)).group(0) for m in response.context["messages"] if RAW_KEY.search(str(m)))
    assert api_for(raw).get("/api/v1/members/?email=a@example.com").json()["code"] == "scope_missing"
    assert admin_client.post(admin_url("loyalty_apikey_add"), {"shop": shop.pk, "name": "none"}).status_code == 200
    assert ApiKey.objects.count() == 1  # a key needs at least one scope


def test_the_admin_shows_each_keys_scopes_and_marks_those_that_see_every_member(admin_client, shop):
    narrow, _ = api_key_create(shop=shop, name="narrow", scopes=["orders"])
    wide, _ = api_key_create(shop=shop, name="wide", scopes=EVERY_SCOPE)

    listing = admin_client.get(admin_url("loyalty_apikey_changelist")).content.decode()
    detail = admin_client.get(admin_url("loyalty_apikey_change", wide.pk)).content.decode()
    shop_page = admin_client.get(admin_url("loyalty_shop_change", shop.pk)).content.decode()

    for page in (listing, detail, shop_page):
        assert "<code>orders</code>" in page
        assert "members:all ⚠" in page
        assert "Sees every member of the club, not only this shop&#x27;s customers." in page
    club_wide = admin_client.get(admin_url("loyalty_apikey_changelist"), {"club_wide": "yes"})
    operational = admin_client.get(admin_url("loyalty_apikey_changelist"), {"club_wide": "no"})
    assert list(club_wide.context["cl"].result_list) == [wide]
    assert list(operational.context["cl"].result_list) == [narrow]


def test_a_keys_scopes_cannot_be_changed_but_staff_can_take_members_all_away(
    admin_client, admin_user, shop, other_shop, tiers, programme
):
    make_order(other_shop, order_id="B-1", email="kari@example.com")  # another shop's customer
    key, raw = api_key_create(shop=shop, name="old integration", scopes=EVERY_SCOPE)
    client = api_for(raw)
    assert client.get("/api/v1/members/?email=kari@example.com").json()["count"] == 1

    assert admin_client.post(admin_url("loyalty_apikey_change", key.pk), {"scopes": ["orders"]}).status_code == 403
    response = admin_client.post(
        admin_url("loyalty_apikey_changelist"), {"action": "withdraw_members_all", "_selected_action": [key.pk]}
    )

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.scopes == list(OPERATIONAL_SCOPES)
    assert client.get("/api/v1/members/?email=kari@example.com").json()["count"] == 0  # at once
    assert client.get("/api/v1/orders/").status_code == 200  # everything else as before
    entry = AuditEntry.objects.get(model="loyalty.apikey")
    assert entry.action == AuditAction.CHANGE and entry.staff == admin_user
    assert ApiScope.MEMBERS_ALL in entry.before["scopes"] and ApiScope.MEMBERS_ALL not in entry.after["scopes"]


def test_taking_members_all_from_a_key_without_it_changes_nothing(admin_client, shop):
    key, _raw = api_key_create(shop=shop, scopes=["orders"])

    admin_client.post(
        admin_url("loyalty_apikey_changelist"), {"action": "withdraw_members_all", "_selected_action": [key.pk]}
    )

    key.refresh_from_db()
    assert key.scopes == ["orders"]
    assert not AuditEntry.objects.filter(model="loyalty.apikey").exists()
