"""The storefront widget's endpoints (``/embed/v1/<publishable key>/…``): a page's signed customer identity for
a member token, what the member sees, "earn N points" badges, points reserved for the checkout, and CORS only
for the origins staff list. Nothing of a member is readable without a valid identity."""

from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from loyalty.models import PointsAccount, Redemption, Reward
from loyalty.shops.storefront import (
    TOKEN_MAX_AGE,
    identity_signature,
    storefront_create,
    storefront_key_rotate,
    storefront_secret_rotate,
)
from tests.conftest import make_order, order_payload

pytestmark = pytest.mark.django_db

ORIGIN = "https://www.nordlys.example"


@pytest.fixture
def storefront(shop):
    return storefront_create(shop=shop, allowed_origins=f"{ORIGIN}/\nhttps://nordlys.example").storefront


@pytest.fixture
def kari(shop, tiers, programme):
    """Kari, Silver with 1200 points, known to the shop as customer 7001."""
    make_order(shop, order_id="K-1", amount="1200.00", email="kari@example.com", first_name="Kari", external_id="7001")
    return PointsAccount.objects.get(member__user__email="kari@example.com").member


def identity(storefront, *, customer_id="7001", email="kari@example.com", timestamp=None, secret=None) -> dict:
    """What a theme renders for its signed-in customer, signed as the README's recipes sign it."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    signature = identity_signature(
        secret=secret or storefront.secret, customer_id=customer_id, email=email, timestamp=timestamp
    )
    return {"customer_id": customer_id, "email": email, "timestamp": timestamp, "signature": signature}


def embed(storefront, path: str) -> str:
    return f"/embed/v1/{storefront.publishable_key}/{path}"


def session(client, storefront, **identity_fields):
    return client.post(
        embed(storefront, "session/"), identity(storefront, **identity_fields), content_type="application/json"
    )


def token_for(client, storefront, **identity_fields) -> str:
    response = session(client, storefront, **identity_fields)
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def as_member(token: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_signed_in_member_sees_balance_tier_and_progress(client, storefront, kari):
    response = session(client, storefront)
    assert response.json()["member"] is True and response.json()["expires_in"] == TOKEN_MAX_AGE

    me = client.get(embed(storefront, "me/"), **as_member(response.json()["token"]))

    assert me.status_code == 200
    data = me.json()
    assert data["member"]["first_name"] == "Kari"
    assert data["points"] == {"balance": 1200, "spendable": 1200, "pending": 0, "reserved": 0}  # earned at Bronze
    assert data["tier"]["name"] == "Silver"
    assert data["next_tier"] == {"name": "Gold", "points_to_go": 3800, "progress_percent": 5}
    assert data["portal_url"].startswith("http://testserver/")


def test_the_member_sees_rewards_they_can_afford_and_the_nearest_they_cannot(client, storefront, kari):
    Reward.objects.create(name="Coffee", points_cost=500)
    Reward.objects.create(name="Socks", points_cost=2000)
    Reward.objects.create(name="Jacket", points_cost=9000)

    data = client.get(embed(storefront, "me/"), **as_member(token_for(client, storefront))).json()

    assert data["rewards"]["affordable"] == [{"name": "Coffee", "points_cost": 500}]
    assert data["rewards"]["nearest"] == {"name": "Socks", "points_cost": 2000, "points_missing": 800}


def test_a_member_found_by_email_becomes_the_shops_customer(client, storefront, shop, tiers, programme):
    make_order(shop, order_id="O-1", email="ola@example.com")
    assert session(client, storefront, customer_id="9001", email="OLA@example.com").json()["member"] is True
    assert session(client, storefront, customer_id="9001", email="").json()["member"] is True  # now by id alone


def test_a_customer_who_is_not_a_member_gets_no_token(client, storefront, kari):
    response = session(client, storefront, customer_id="555", email="nobody@example.com")
    assert response.status_code == 200
    assert response.json() == {"member": False, "token": None, "expires_in": None}


@pytest.mark.parametrize(
    ("tamper", "code"),
    [
        (lambda data: data | {"signature": "0" * 64}, "identity_invalid"),
        (lambda data: data | {"customer_id": "7002"}, "identity_invalid"),
        (lambda data: data | {"email": "someone@example.com"}, "identity_invalid"),
        (lambda data: data | {"timestamp": data["timestamp"] + 1}, "identity_invalid"),
    ],
)
def test_a_tampered_identity_is_refused_and_reads_nothing(client, storefront, kari, tamper, code):
    response = client.post(embed(storefront, "session/"), tamper(identity(storefront)), content_type="application/json")
    assert response.status_code == 401
    assert response.json()["code"] == code
    assert "token" not in response.json()


def test_an_identity_signed_with_another_secret_is_refused(client, storefront, kari):
    response = session(client, storefront, secret="kss_not-the-shops-secret")
    assert (response.status_code, response.json()["code"]) == (401, "identity_invalid")


def test_an_identity_older_than_a_day_is_refused(client, storefront, kari):
    old = int(time.time()) - 24 * 3600 - 60
    response = session(client, storefront, timestamp=old)
    assert (response.status_code, response.json()["code"], response.json()["field"]) == (
        401,
        "identity_expired",
        "timestamp",
    )
    assert session(client, storefront, timestamp=int(time.time()) - 23 * 3600).status_code == 200


def test_a_missing_identity_is_a_clear_400(client, storefront, kari):
    response = client.post(embed(storefront, "session/"), {"customer_id": "7001"}, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] in {"email", "timestamp", "signature"}


def test_the_member_summary_needs_a_token(client, storefront, kari):
    missing = client.get(embed(storefront, "me/"))
    forged = client.get(embed(storefront, "me/"), **as_member("not-a-token"))
    assert (missing.status_code, missing.json()["code"]) == (401, "token_invalid")
    assert (forged.status_code, forged.json()["code"]) == (401, "token_invalid")
    assert "kari" not in missing.content.decode().lower() + forged.content.decode().lower()


def test_another_shops_token_reads_nothing_here(client, storefront, kari, other_shop):
    other = storefront_create(shop=other_shop, allowed_origins="https://fjord.example").storefront
    make_order(other_shop, order_id="F-1", email="kari@example.com", external_id="7001")
    token = token_for(client, other)
    assert client.get(embed(other, "me/"), **as_member(token)).status_code == 200

    response = client.get(embed(storefront, "me/"), **as_member(token))

    assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


def test_a_token_runs_out(client, storefront, kari):
    token = token_for(client, storefront)
    with time_machine.travel(timezone.now() + timezone.timedelta(seconds=TOKEN_MAX_AGE + 5)):
        response = client.get(embed(storefront, "me/"), **as_member(token))
    assert response.status_code == 401


def test_rotating_the_secret_or_the_key_stops_what_was_signed_or_given_before(client, storefront, kari):
    old_identity = identity(storefront)
    token = token_for(client, storefront)

    storefront_secret_rotate(storefront=storefront)
    refused = client.post(embed(storefront, "session/"), old_identity, content_type="application/json")
    assert refused.status_code == 401
    assert session(client, storefront).status_code == 200  # signed with the new secret

    old_key = storefront.publishable_key
    storefront_key_rotate(storefront=storefront)
    assert client.get(f"/embed/v1/{old_key}/config/").json()["code"] == "storefront_unknown"
    assert client.get(embed(storefront, "me/"), **as_member(token)).status_code == 401


def test_an_unknown_or_switched_off_storefront_answers_404(client, storefront):
    assert client.get("/embed/v1/kpk_nope/config/").status_code == 404
    storefront.is_active = False
    storefront.save()
    response = client.get(embed(storefront, "config/"))
    assert (response.status_code, response.json()["code"]) == (404, "storefront_unknown")


def test_a_client_address_has_its_own_rate_limit_per_window(client, storefront, settings):
    settings.KLUBB_EMBED_RATE_LIMIT = "2/min"
    with time_machine.travel(dt.datetime(2026, 11, 24, 12, 0, 30, tzinfo=dt.UTC), tick=False) as traveller:
        assert [client.get(embed(storefront, "config/")).status_code for _ in range(3)] == [200, 200, 429]
        other = client.get(embed(storefront, "config/"), REMOTE_ADDR="192.0.2.7")
        assert other.status_code == 200  # another shopper
        traveller.shift(dt.timedelta(seconds=30))
        assert client.get(embed(storefront, "config/")).status_code == 200


def test_a_visitor_sees_what_the_club_gives_in_the_pages_language(client, storefront, tiers, programme):
    data = client.get(embed(storefront, "config/"), {"lang": "nb"}).json()
    assert [tier["name"] for tier in data["tiers"]] == ["Bronze", "Silver", "Gold"]
    assert data["earning"]["example_points"] == 100 and data["earning"]["currency"] == "NOK"
    assert data["looks"] == {"accent_colour": "#1f6f5c", "position": "bottom-right"}
    assert data["join_url"].endswith("/accounts/signup/") and data["login_url"].endswith("/accounts/login/")


def badges(client, storefront, items, token=None):
    headers = as_member(token) if token else {}
    return client.post(embed(storefront, "badges/"), {"items": items}, content_type="application/json", **headers)


def test_badges_show_exactly_what_the_preview_gives_for_the_members_tier(client, storefront, kari, api):
    items = [{"price": "1249.00", "category": "running", "sku": "SHOE-1"}, {"price": "99.90"}]

    as_kari = badges(client, storefront, items, token_for(client, storefront)).json()["points"]
    as_visitor = badges(client, storefront, items).json()["points"]

    for item, points in zip(items, as_kari, strict=True):
        payload = order_payload(amount=item["price"], email="kari@example.com")
        line = {"sku": item.get("sku", ""), "category": item.get("category", ""), "quantity": 1}
        preview = api.post(
            "/api/v1/points/preview/",
            {"member": payload["member"], "amount": item["price"], "currency": "NOK",
             "items": [line | {"unit_price": item["price"]}]},
            format="json",
        )  # fmt: skip
        assert points == preview.json()["points"]
    assert as_kari == [1561, 124]  # Silver, x1.25
    assert as_visitor == [1249, 99]  # the entry tier


def test_a_product_with_an_empty_category_or_sku_gets_its_badge(client, storefront, kari):
    items = [{"price": "100.00", "category": "", "sku": ""}, {"price": "100.00"}]
    response = badges(client, storefront, items)
    assert response.status_code == 200 and response.json()["points"] == [100, 100]


def test_badges_refuse_a_bad_page_clearly(client, storefront, kari):
    too_many = badges(client, storefront, [{"price": "10.00"}] * 101)
    not_money = badges(client, storefront, [{"price": 10}])
    assert too_many.status_code == 400 and too_many.json()["field"] == "items"
    assert not_money.status_code == 400 and not_money.json()["field"].startswith("items")


def test_use_points_at_checkout_reserves_a_redemption_with_a_code(client, storefront, kari, programme):
    token = token_for(client, storefront)
    body = {"points": programme.redeem_min_points, "request_id": "0c9d8a52-7a1e-4f55-9a65-6d1f3c1c1a01"}

    first = client.post(embed(storefront, "redemptions/"), body, content_type="application/json", **as_member(token))
    again = client.post(embed(storefront, "redemptions/"), body, content_type="application/json", **as_member(token))

    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["code"] == again.json()["code"] and first.json()["code"].startswith("KP")
    assert Redemption.objects.get().points == programme.redeem_min_points
    assert PointsAccount.objects.get(member=kari).balance == 1200 - programme.redeem_min_points
    me = client.get(embed(storefront, "me/"), **as_member(token)).json()
    assert me["points"]["reserved"] == programme.redeem_min_points


def test_use_points_refuses_more_than_the_member_has(client, storefront, kari):
    token = token_for(client, storefront)
    response = client.post(
        embed(storefront, "redemptions/"), {"points": 100_000}, content_type="application/json", **as_member(token)
    )
    assert (response.status_code, response.json()["code"]) == (422, "insufficient_points")
    assert not Redemption.objects.exists()


def preflight(path: str, origin: str):
    return Client().options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_cors_answers_only_the_origins_the_storefront_lists(storefront, other_shop):
    other = storefront_create(shop=other_shop, allowed_origins="https://fjord.example").storefront

    listed = preflight(embed(storefront, "session/"), ORIGIN)
    unlisted = preflight(embed(storefront, "session/"), "https://evil.example")
    another_shops = preflight(embed(storefront, "session/"), "https://fjord.example")
    own = preflight(embed(other, "session/"), "https://fjord.example")

    assert listed.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "authorization" in listed.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in unlisted.headers
    assert "Access-Control-Allow-Origin" not in another_shops.headers
    assert own.headers["Access-Control-Allow-Origin"] == "https://fjord.example"
    get = Client().get(embed(storefront, "config/"), HTTP_ORIGIN="https://evil.example")
    assert get.status_code == 200 and "Access-Control-Allow-Origin" not in get.headers


def test_no_other_path_answers_cors(storefront, api):
    for path in ("/api/v1/orders/", "/", "/accounts/login/"):
        response = preflight(path, ORIGIN)
        assert "Access-Control-Allow-Origin" not in response.headers, path


def test_the_script_address_is_stable_and_sends_on_to_the_built_file(client):
    response = client.get("/embed/v1/klubb.js")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("embed/klubb.js")
    assert "max-age=300" in response.headers["Cache-Control"]


def test_every_page_but_the_embed_endpoints_keeps_its_frame_and_content_rules(client, storefront):
    page = client.get("/accounts/login/")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]


def test_the_entry_tier_money_example_follows_the_shops_own_rate(client, storefront, shop, tiers, programme):
    shop.points_per_unit = Decimal("2")
    shop.save()
    assert client.get(embed(storefront, "config/")).json()["earning"]["example_points"] == 200
