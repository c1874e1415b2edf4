"""What a shop may see of members (issue 14, finding 4): only its own customers' personal data, unless its key has
``members:all``; its webhooks follow the same rule unless staff made the subscription club-wide.

A member is a shop's customer when the shop enrolled them, named them by its customer id, or has an order from
them (``loyalty.models.customers``). Shop A ("Nordlys Sport") has Kari as its customer; shop B ("Fjord Outdoor")
does not.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from loyalty.events.outbox import webhook_audiences
from loyalty.models import (
    OPERATIONAL_SCOPES,
    ApiScope,
    LedgerEntry,
    OutboxEvent,
    ShopCustomer,
    WebhookDelivery,
    WebhookSubscription,
)
from loyalty.shops import api_key_create, shop_customer_link
from members.models import ConsentRecord, ConsentSource, Member
from members.services import member_erase
from tests.conftest import make_order, order_payload

pytestmark = pytest.mark.django_db


def client_with(shop: Any, scopes: Any = OPERATIONAL_SCOPES) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(shop=shop, scopes=scopes)[1]}")
    return client


@pytest.fixture
def kari(shop, tiers, programme) -> Member:
    """Shop A's customer: enrolled by her first order there, with A's customer id."""
    make_order(shop, order_id="A-1", email="kari@example.com", amount="500.00", external_id="A-CUST-1")
    return Member.objects.select_related("user").get(user__email="kari@example.com")


def test_another_shop_cannot_read_a_customer_by_id_email_phone_or_customer_id(kari, other_api):
    Member.objects.filter(pk=kari.pk).update(phone="+4791234567")
    for path in (f"/api/v1/members/{kari.public_id}/", f"/api/v1/members/{kari.public_id}/consents/"):
        response = other_api.get(path)
        assert (response.status_code, response.json()["code"]) == (404, "member_not_found"), path
        assert "kari" not in response.content.decode().lower()
    for query in ("email=kari@example.com", "phone=%2B4791234567", "external_id=A-CUST-1"):
        assert other_api.get(f"/api/v1/members/?{query}").json() == {
            "count": 0,
            "next": None,
            "previous": None,
            "results": [],
        }, query
    referral = other_api.get(f"/api/v1/members/{kari.public_id}/referral/")
    assert (referral.status_code, referral.json()["code"]) == (404, "member_not_found")


def test_another_shop_cannot_set_a_customers_consents(kari, other_api):
    response = other_api.put(f"/api/v1/members/{kari.public_id}/consents/", {"email_marketing": True}, format="json")

    assert (response.status_code, response.json()["code"]) == (404, "member_not_found")
    kari.refresh_from_db()
    assert not kari.email_marketing
    assert not ConsentRecord.objects.filter(member=kari).exists()


def test_the_shop_whose_customer_it_is_reads_and_changes_everything(kari, api, other_api):
    detail = api.get(f"/api/v1/members/{kari.public_id}/").json()
    assert (detail["email"], detail["external_id"]) == ("kari@example.com", "A-CUST-1")
    assert api.get("/api/v1/members/?email=kari@example.com").json()["count"] == 1
    consent = api.put(f"/api/v1/members/{kari.public_id}/consents/", {"email_marketing": True}, format="json")
    assert consent.json() == {"email_marketing": True, "sms_marketing": False}
    assert other_api.get(f"/api/v1/members/{kari.public_id}/consents/").status_code == 404  # and nobody else


def test_a_key_with_members_all_sees_and_changes_every_member(kari, other_shop, other_api):
    club_wide = client_with(other_shop, scopes=[*OPERATIONAL_SCOPES, ApiScope.MEMBERS_ALL])
    assert other_api.get(f"/api/v1/members/{kari.public_id}/").status_code == 404  # the same shop's other key

    detail = club_wide.get(f"/api/v1/members/{kari.public_id}/")
    listed = club_wide.get("/api/v1/members/?email=kari@example.com").json()
    consent = club_wide.put(f"/api/v1/members/{kari.public_id}/consents/", {"sms_marketing": True}, format="json")

    assert detail.status_code == 200
    assert (detail.json()["email"], detail.json()["external_id"]) == ("kari@example.com", None)  # B has no id
    assert [member["member_id"] for member in listed["results"]] == [str(kari.public_id)]
    assert consent.json() == {"email_marketing": False, "sms_marketing": True}
    assert club_wide.get(f"/api/v1/members/{kari.public_id}/referral/").status_code == 200


def test_an_order_at_another_shop_earns_on_the_same_membership_and_makes_her_its_customer(kari, other_api):
    assert other_api.get(f"/api/v1/members/{kari.public_id}/").status_code == 404

    response = other_api.post("/api/v1/orders/", order_payload(order_id="B-1", amount="300.00"), format="json")

    assert response.status_code == 201
    assert response.json()["member_id"] == str(kari.public_id)
    assert Member.objects.count() == 1
    assert sum(LedgerEntry.objects.filter(member=kari).values_list("points", flat=True)) == 800
    detail = other_api.get(f"/api/v1/members/{kari.public_id}/")
    assert (detail.status_code, detail.json()["balance"]) == (200, 800)


def test_a_shop_sees_the_members_it_enrolled(other_api, tiers, programme):
    enrolled = other_api.post("/api/v1/members/", {"email": "ola@example.com", "first_name": "Ola"}, format="json")
    assert enrolled.status_code == 201

    detail = other_api.get(f"/api/v1/members/{enrolled.json()['member_id']}/")

    assert (detail.status_code, detail.json()["first_name"]) == (200, "Ola")
    assert ShopCustomer.objects.get().external_id == ""  # a customer without the shop's own id


def test_a_customer_id_link_alone_makes_a_member_a_shops_customer(kari, other_shop, other_api):
    assert other_api.get("/api/v1/members/?email=kari@example.com").json()["count"] == 0

    shop_customer_link(shop=other_shop, member=kari, external_id="B-77")

    assert other_api.get("/api/v1/members/?email=kari@example.com").json()["count"] == 1

    assert other_api.get("/api/v1/members/?external_id=B-77").json()["count"] == 1


def test_enrolling_another_shops_customer_is_refused_and_changes_nothing(kari, other_shop, other_api):
    response = other_api.post(
        "/api/v1/members/", {"email": "Kari@Example.com", "first_name": "K", "external_id": "B-9"}, format="json"
    )

    assert response.status_code == 409
    assert (response.json()["code"], response.json()["field"]) == ("member_not_customer", "email")
    assert "Kari" not in response.content.decode()
    assert not ShopCustomer.objects.filter(shop=other_shop).exists()
    assert other_api.get(f"/api/v1/members/{kari.public_id}/").status_code == 404
    assert Member.objects.get(pk=kari.pk).user.first_name == kari.user.first_name


def test_a_key_with_members_all_enrols_an_existing_member_as_its_customer(kari, other_shop, other_api):
    club_wide = client_with(other_shop, scopes=[*OPERATIONAL_SCOPES, ApiScope.MEMBERS_ALL])
    assert other_api.post("/api/v1/members/", {"email": "kari@example.com"}, format="json").status_code == 409

    response = club_wide.post("/api/v1/members/", {"email": "kari@example.com", "external_id": "B-9"}, format="json")

    assert response.status_code == 200
    assert (response.json()["member_id"], response.json()["external_id"]) == (str(kari.public_id), "B-9")
    assert ShopCustomer.objects.get(shop=other_shop).member == kari


def test_an_erased_member_is_member_erased_only_for_the_shops_she_was_a_customer_of(kari, api, other_api):
    member_erase(member=kari, source=ConsentSource.ERASURE)

    own = api.get(f"/api/v1/members/{kari.public_id}/")
    other = other_api.get(f"/api/v1/members/{kari.public_id}/")

    assert (own.status_code, own.json()["code"]) == (404, "member_erased")
    assert (other.status_code, other.json()["code"]) == (404, "member_not_found")
    assert ShopCustomer.objects.get(member=kari).external_id == ""  # the shop's id for her is gone


# --- Webhooks follow the same rule ----------------------------------------------------------------------------


def subscription(shop: Any, path: str, **kw: Any) -> WebhookSubscription:
    return WebhookSubscription.objects.create(
        shop=shop,
        url=f"http://127.0.0.1:9/{path}",
        secret="whsec_test",
        events=["member.enrolled", "points.changed", "tier.changed", "reward.redeemed", "referral.rewarded"],
        **kw,
    )


def receivers(event_type: str) -> list[str]:
    return sorted(
        set(WebhookDelivery.objects.filter(event__type=event_type).values_list("subscription__url", flat=True))
    )


def test_a_shops_subscription_hears_only_of_its_own_customers(kari, shop, other_shop, api, other_api):
    subscription(shop, "a")
    subscription(other_shop, "b")
    subscription(other_shop, "b-club-wide", club_wide=True)

    api.post("/api/v1/orders/", order_payload(order_id="A-2", amount="100.00"), format="json")  # Kari, at A

    assert receivers("points.changed") == ["http://127.0.0.1:9/a", "http://127.0.0.1:9/b-club-wide"]

    other_api.post("/api/v1/orders/", order_payload(order_id="B-1", amount="100.00"), format="json")  # now B's too
    api.post("/api/v1/orders/", order_payload(order_id="A-3", amount="100.00"), format="json")

    last = OutboxEvent.objects.filter(type="points.changed").order_by("pk").last()
    assert sorted(last.deliveries.values_list("subscription__url", flat=True)) == [
        "http://127.0.0.1:9/a",
        "http://127.0.0.1:9/b",
        "http://127.0.0.1:9/b-club-wide",
    ]


def test_a_shop_hears_of_the_members_it_enrolls(shop, other_shop, api, tiers, programme):
    subscription(shop, "a")
    subscription(other_shop, "b")

    api.post("/api/v1/members/", {"email": "ola@example.com"}, format="json")
    api.post("/api/v1/orders/", order_payload(order_id="A-1", email="per@example.com", amount="10.00"), format="json")

    assert receivers("member.enrolled") == ["http://127.0.0.1:9/a"]
    assert OutboxEvent.objects.filter(type="member.enrolled").count() == 2


def test_an_event_nobody_may_receive_leaves_no_outbox_row(kari, other_shop, api):
    subscription(other_shop, "b")

    api.post("/api/v1/orders/", order_payload(order_id="A-2", amount="100.00"), format="json")

    assert not OutboxEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_an_event_naming_two_members_reaches_a_shop_only_when_both_are_its_customers(kari, shop, other_shop):
    """``referral.rewarded`` names the referrer and the friend."""
    make_order(other_shop, order_id="B-1", email="ola@example.com")
    ola = Member.objects.get(user__email="ola@example.com")
    a, b, everyone = subscription(shop, "a"), subscription(other_shop, "b"), subscription(shop, "w", club_wide=True)
    subscriptions = [a, b, everyone]

    audiences = webhook_audiences(subscriptions=subscriptions, members=[{kari.pk, ola.pk}, {kari.pk}, {ola.pk}])
    assert audiences == [[everyone], [a, everyone], [b, everyone]]

    make_order(shop, order_id="A-2", email="ola@example.com")
    assert webhook_audiences(subscriptions=subscriptions, members=[{kari.pk, ola.pk}]) == [[a, everyone]]


def test_staff_make_a_subscription_club_wide_in_the_admin(admin_client, shop):
    add = admin_client.get(reverse("admin:loyalty_webhooksubscription_add"))
    assert add.context["adminform"].form.fields["club_wide"].initial is False

    admin_client.post(
        reverse("admin:loyalty_webhooksubscription_add"),
        {"shop": shop.pk, "url": "https://shop.example.com/all", "events": ["points.changed"], "club_wide": "on"},
    )
    admin_client.post(
        reverse("admin:loyalty_webhooksubscription_add"),
        {"shop": shop.pk, "url": "https://shop.example.com/own", "events": ["points.changed"]},
    )

    assert dict(WebhookSubscription.objects.values_list("url", "club_wide")) == {
        "https://shop.example.com/all": True,
        "https://shop.example.com/own": False,
    }
    listed = admin_client.get(reverse("admin:loyalty_webhooksubscription_changelist"), {"club_wide__exact": "1"})
    assert [s.url for s in listed.context["cl"].result_list] == ["https://shop.example.com/all"]
