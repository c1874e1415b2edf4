"""Who may do what, for every URL the project serves: the URL resolver is walked, so a new URL fails this test
until it has a row here.

Columns (``ACTORS``): anonymous, member A, member B, shop A (API key), shop B (API key), a staff superuser, a
Support user and a Programme manager (the two ready roles; all staff with two-factor authentication). Where a URL
takes an id, it is member A's (or shop A's) thing, so the B columns show what someone else gets. Outcomes:

- ``OK``: allowed (2xx, or a 3xx that is not a login redirect);
- ``REACHED``: allowed to reach the view, which refused the (deliberately incomplete) input with a 400;
- ``LOGIN``: a redirect to the login page;
- ``DENIED``: 401, 403 or 404.

Outside the admin the two roles are staff like any other (no membership, no API key): a row's ``staff`` outcome is
theirs unless it says otherwise. Inside the admin, ``test_each_role_gets_its_own_part_of_the_admin`` says what each
role may open. ``admin/`` and ``accounts/`` (allauth) follow group rules below rather than one row per URL.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse

from loyalty.models import ApiScope, Storefront
from loyalty.rewards.catalogue import reward_redeem
from loyalty.shops import api_key_create
from loyalty.shops.storefront import storefront_create
from referrals.services import referral_code_for
from tests.conftest import order_payload
from tests.permission_world import (
    ACTORS,
    DENIED,
    LOGIN,
    OK,
    REACHED,
    ROLES,
    World,
    actor_client,
    all_routes,
    route_parameters,
    world_fixture,  # noqa: F401 (the fixture ``world``)
)

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Row:
    method: str
    url: Callable[[World], str]
    expect: dict[str, str]
    data: Callable[[World], Any] | None = None
    json: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def every(outcome: str, **exceptions: str) -> dict[str, str]:
    for role in ROLES:  # staff in a role are staff: the staff column's exception is theirs too
        exceptions.setdefault(role, exceptions.get("staff", outcome))
    return {actor: exceptions.get(actor, outcome) for actor in ACTORS}


API_SHOPS_ONLY = every(DENIED, shop_a=OK, shop_b=OK)  # members and staff have no API key: 401
API_SHOP_A_ONLY = every(DENIED, shop_a=OK)  # shop A's order, or shop A's customer: shop B gets 404
MEMBER_PAGE = every(LOGIN, member_a=OK, member_b=OK, staff=DENIED)  # staff without a membership: 403
MEMBER_A_THING = every(LOGIN, member_a=OK, member_b=DENIED, staff=DENIED)  # someone else's voucher: 404


def unsubscribe_url(world: World) -> str:
    from members.messaging import unsubscribe_url as signed_link

    return "/" + signed_link(member=world.member_a, kind="points_earned").split("/", 3)[3]


def embed_url(world: World, path: str) -> str:
    """Shop A's storefront widget endpoint ``path``; the storefront is made on first use."""
    storefront = Storefront.objects.filter(shop=world.shop_a).first()
    key = (storefront or storefront_create(shop=world.shop_a).storefront).publishable_key
    return f"/embed/v1/{key}/{path}"


def fresh_voucher_url(world: World) -> str:
    voucher = reward_redeem(member=world.member_a, reward=world.reward)
    return f"/api/v1/vouchers/{voucher.code}/redeem/"


ROWS: dict[tuple[str, str], Row] = {
    # --- Shop API: the API key is the only way in; shops see their own orders and their own customers ---------
    # (member A is shop A's customer; the keys have the operational scopes, without members:all)
    ("api/v1/orders/", "GET"): Row("GET", lambda w: "/api/v1/orders/", API_SHOPS_ONLY),
    ("api/v1/orders/", "POST"): Row(
        "POST", lambda w: "/api/v1/orders/", API_SHOPS_ONLY, lambda w: order_payload(f"N-{w.next()}"), json=True
    ),
    ("api/v1/orders/<str:order_id>/", "GET"): Row("GET", lambda w: "/api/v1/orders/A-1/", API_SHOP_A_ONLY),
    ("api/v1/orders/<str:order_id>/refunds/", "POST"): Row(
        "POST",
        lambda w: "/api/v1/orders/A-1/refunds/",
        API_SHOP_A_ONLY,
        lambda w: {"refund_id": f"R-{w.next()}", "amount": "1.00"},
        json=True,
    ),
    ("api/v1/return-reasons/", "GET"): Row("GET", lambda w: "/api/v1/return-reasons/", API_SHOPS_ONLY),
    ("api/v1/members/", "GET"): Row("GET", lambda w: "/api/v1/members/?email=anna@example.com", API_SHOPS_ONLY),
    ("api/v1/members/", "POST"): Row(
        "POST", lambda w: "/api/v1/members/", API_SHOPS_ONLY, lambda w: {"email": f"new{w.next()}@example.com"}, True
    ),
    ("api/v1/members/<uuid:member_id>/", "GET"): Row(
        "GET", lambda w: f"/api/v1/members/{w.member_a.public_id}/", API_SHOP_A_ONLY
    ),
    ("api/v1/members/<uuid:member_id>/consents/", "GET"): Row(
        "GET", lambda w: f"/api/v1/members/{w.member_a.public_id}/consents/", API_SHOP_A_ONLY
    ),
    ("api/v1/members/<uuid:member_id>/consents/", "PUT"): Row(
        "PUT",
        lambda w: f"/api/v1/members/{w.member_a.public_id}/consents/",
        API_SHOP_A_ONLY,
        lambda w: {"email_marketing": True},
        json=True,
    ),
    ("api/v1/members/<uuid:member_id>/referral/", "GET"): Row(
        "GET", lambda w: f"/api/v1/members/{w.member_a.public_id}/referral/", API_SHOP_A_ONLY
    ),
    # An event type nobody set up: the shops reach the view (422 unknown_event_type), everyone else is refused.
    ("api/v1/events/", "POST"): Row(
        "POST",
        lambda w: "/api/v1/events/",
        API_SHOPS_ONLY,
        lambda w: {"type": "review", "idempotency_key": f"E-{w.next()}", "member": {"email": "anna@example.com"}},
        json=True,
    ),
    ("api/v1/points/preview/", "POST"): Row(
        "POST",
        lambda w: "/api/v1/points/preview/",
        API_SHOPS_ONLY,
        lambda w: {"member": {"email": "anna@example.com"}, "amount": "100.00", "currency": "NOK"},
        json=True,
    ),
    # Checkout: anna has points to reserve at either shop; reservation A-1 belongs to shop A (shop B gets 404).
    ("api/v1/redemptions/", "POST"): Row(
        "POST",
        lambda w: "/api/v1/redemptions/",
        API_SHOPS_ONLY,
        lambda w: {"redemption_id": f"X-{w.next()}", "member": {"email": "anna@example.com"}, "points": 100},
        json=True,
    ),
    ("api/v1/redemptions/<str:redemption_id>/capture/", "POST"): Row(
        "POST", lambda w: "/api/v1/redemptions/A-1/capture/", API_SHOP_A_ONLY, lambda w: {"order_id": "A-1"}, json=True
    ),
    ("api/v1/redemptions/<str:redemption_id>/release/", "POST"): Row(
        "POST", lambda w: "/api/v1/redemptions/A-1/release/", API_SHOP_A_ONLY, lambda w: {}, json=True
    ),
    ("api/v1/vouchers/<str:code>/", "GET"): Row(
        "GET", lambda w: f"/api/v1/vouchers/{w.voucher_a.code}/", API_SHOPS_ONLY
    ),
    ("api/v1/vouchers/<str:code>/redeem/", "POST"): Row(
        "POST", fresh_voucher_url, API_SHOPS_ONLY, lambda w: {"order_id": f"T-{w.next()}"}, json=True
    ),
    # --- The storefront widget: a publishable key names the shop; a member only by the token that a signed
    # identity gets (``session``), never by a portal session or an API key: without a token, 401 ---------------
    ("embed/v1/klubb.js", "GET"): Row("GET", lambda w: "/embed/v1/klubb.js", every(OK)),
    ("embed/v1/<str:key>/config/", "GET"): Row("GET", lambda w: embed_url(w, "config/"), every(OK)),
    ("embed/v1/<str:key>/session/", "POST"): Row(
        "POST", lambda w: embed_url(w, "session/"), every(REACHED), lambda w: {"customer_id": "1"}, json=True
    ),
    ("embed/v1/<str:key>/me/", "GET"): Row("GET", lambda w: embed_url(w, "me/"), every(DENIED)),
    # Badges need no token, but a bearer that is not a widget token (here a shop's API key) is refused.
    ("embed/v1/<str:key>/badges/", "POST"): Row(
        "POST",
        lambda w: embed_url(w, "badges/"),
        every(REACHED, shop_a=DENIED, shop_b=DENIED),
        lambda w: {"items": []},
        json=True,
    ),
    ("embed/v1/<str:key>/redemptions/", "POST"): Row(
        "POST", lambda w: embed_url(w, "redemptions/"), every(DENIED), lambda w: {"points": 100}, json=True
    ),
    # The demo storefront: only with DEBUG on or KLUBB_DEMO_STOREFRONT set (neither here), 404 for all.
    ("demo/storefront/", "GET"): Row("GET", lambda w: "/demo/storefront/", every(DENIED)),
    # --- Public: docs, health, referral links, the signed unsubscribe link, the language switch -----------------
    ("api/schema/", "GET"): Row("GET", lambda w: "/api/schema/", every(OK)),
    ("api/docs/", "GET"): Row("GET", lambda w: "/api/docs/", every(OK)),
    ("healthz/", "GET"): Row("GET", lambda w: "/healthz/", every(OK)),
    ("r/<str:code>/", "GET"): Row("GET", lambda w: f"/r/{referral_code_for(member=w.member_a).code}/", every(OK)),
    ("r/<str:code>", "GET"): Row("GET", lambda w: f"/r/{referral_code_for(member=w.member_a).code}", every(OK)),
    ("unsubscribe/<str:token>/", "GET"): Row("GET", unsubscribe_url, every(OK)),
    # The built-in privacy policy and membership terms, linked from sign-up and log-in.
    ("privacy-policy/", "GET"): Row("GET", lambda w: "/privacy-policy/", every(OK)),
    ("terms/", "GET"): Row("GET", lambda w: "/terms/", every(OK)),
    # Claiming a membership a shop made by phone: open to all, and it tells nobody who is a member.
    ("claim/", "GET"): Row("GET", lambda w: "/claim/", every(OK)),
    ("claim/code/", "GET"): Row("GET", lambda w: "/claim/code/", every(OK)),  # no number asked for: to claim/
    ("i18n/setlang/", "POST"): Row("POST", lambda w: "/i18n/setlang/", every(OK), lambda w: {"language": "en"}),
    # --- Inbound webhooks: the signature (or the secret in the address) is the only way in ---------------------
    ("hooks/shopify/<slug:shop_slug>/", "POST"): Row(
        "POST", lambda w: "/hooks/shopify/shop-a/", every(DENIED), lambda w: b"{}", json=True
    ),
    # (An unsigned WooCommerce ping without a topic is acknowledged and writes nothing: tests/loyalty/test_webhooks.)
    ("hooks/woocommerce/<slug:shop_slug>/", "POST"): Row(
        "POST",
        lambda w: "/hooks/woocommerce/shop-a/",
        every(DENIED),
        lambda w: b"{}",
        json=True,
        headers={"X-WC-Webhook-Topic": "order.created"},
    ),
    ("hooks/sms/46elks/<str:token>/", "POST"): Row(
        "POST", lambda w: "/hooks/sms/46elks/guess/", every(DENIED), lambda w: {"from": "+4790000001"}
    ),
    # --- The member portal ------------------------------------------------------------------------------------
    ("", "GET"): Row("GET", lambda w: "/", every(OK, staff=DENIED)),
    ("goodbye/", "GET"): Row("GET", lambda w: "/goodbye/", every(OK)),
    ("activity/", "GET"): Row("GET", lambda w: "/activity/", MEMBER_PAGE),
    ("rewards/", "GET"): Row("GET", lambda w: "/rewards/", MEMBER_PAGE),
    ("rewards/<int:reward_id>/", "GET"): Row("GET", lambda w: f"/rewards/{w.reward.pk}/", MEMBER_PAGE),
    ("vouchers/", "GET"): Row("GET", lambda w: "/vouchers/", MEMBER_PAGE),
    ("vouchers/<str:code>/", "GET"): Row("GET", lambda w: f"/vouchers/{w.voucher_a.code}/", MEMBER_A_THING),
    ("profile/", "GET"): Row("GET", lambda w: "/profile/", MEMBER_PAGE),
    ("profile/consents/", "GET"): Row("GET", lambda w: "/profile/consents/", MEMBER_PAGE),
    ("profile/privacy/", "GET"): Row("GET", lambda w: "/profile/privacy/", MEMBER_PAGE),
    ("profile/privacy/my-data.json", "GET"): Row("GET", lambda w: "/profile/privacy/my-data.json", MEMBER_PAGE),
    ("profile/privacy/delete/", "POST"): Row(
        "POST",
        lambda w: "/profile/privacy/delete/",
        every(LOGIN, member_a=REACHED, member_b=REACHED, staff=DENIED),
        lambda w: {"email": "not-my-address@example.com"},
    ),
    ("invite/", "GET"): Row("GET", lambda w: "/invite/", MEMBER_PAGE),
}


# The API key scope each shop API operation needs: a key without it gets 403 scope_missing.
SCOPES: dict[tuple[str, str], str] = {
    ("api/v1/orders/", "GET"): "orders",
    ("api/v1/orders/", "POST"): "orders",
    ("api/v1/orders/<str:order_id>/", "GET"): "orders",
    ("api/v1/orders/<str:order_id>/refunds/", "POST"): "orders",
    ("api/v1/return-reasons/", "GET"): "orders",
    ("api/v1/points/preview/", "POST"): "orders",
    ("api/v1/members/", "GET"): "members:read",
    ("api/v1/members/<uuid:member_id>/", "GET"): "members:read",
    ("api/v1/members/", "POST"): "members:write",
    ("api/v1/members/<uuid:member_id>/consents/", "GET"): "consents",
    ("api/v1/members/<uuid:member_id>/consents/", "PUT"): "consents",
    ("api/v1/members/<uuid:member_id>/referral/", "GET"): "referrals",
    ("api/v1/events/", "POST"): "events",
    ("api/v1/redemptions/", "POST"): "redemptions",
    ("api/v1/redemptions/<str:redemption_id>/capture/", "POST"): "redemptions",
    ("api/v1/redemptions/<str:redemption_id>/release/", "POST"): "redemptions",
    ("api/v1/vouchers/<str:code>/", "GET"): "vouchers",
    ("api/v1/vouchers/<str:code>/redeem/", "POST"): "vouchers",
}


def outcome_of(response: Any) -> str:
    status = response.status_code
    if status in (301, 302, 303) and "/accounts/login/" in response.get("Location", ""):
        return LOGIN
    if status in (401, 403, 404, 405):
        return DENIED
    if status == 400:
        return REACHED
    assert status < 500, f"server error {status}"
    return OK


def call(client: Client, row: Row, world: World) -> Any:
    url = row.url(world)
    data = row.data(world) if row.data else None
    method = getattr(client, row.method.lower())
    if row.json:
        body = data if isinstance(data, bytes) else json.dumps(data)
        return method(url, body, "application/json", headers=row.headers)
    return method(url, data or {}, headers=row.headers)


def test_every_url_outside_the_admin_and_allauth_has_a_row():
    missing = []
    for route, _name, _namespace in all_routes():
        if route.startswith(("admin/", "accounts/")):
            continue
        if not any(key[0] == route for key in ROWS):
            missing.append(route)
    assert not missing, f"add these URLs to ROWS in tests/test_permission_matrix.py: {missing}"


def test_every_row_has_every_column():
    for key, row in ROWS.items():
        assert set(row.expect) == set(ACTORS), key


@pytest.mark.parametrize("key", list(ROWS), ids=[f"{method} /{route}" for route, method in ROWS])
def test_who_may_do_what(world, key):
    row = ROWS[key]
    got = {actor: outcome_of(call(actor_client(world, actor), row, world)) for actor in ACTORS}
    assert got == row.expect


def test_a_shop_never_sees_another_shops_orders_in_its_list(world):
    body = actor_client(world, "shop_b").get("/api/v1/orders/").json()
    assert [order["order_id"] for order in body["results"]] == ["B-1"]


def test_a_shop_never_finds_another_shops_customer_by_email(world):
    assert actor_client(world, "shop_b").get("/api/v1/members/?email=anna@example.com").json()["count"] == 0
    assert actor_client(world, "shop_a").get("/api/v1/members/?email=anna@example.com").json()["count"] == 1


# --- API key scopes ------------------------------------------------------------------------------------------


def test_every_shop_api_operation_names_its_scope_here():
    assert {key for key in ROWS if key[0].startswith("api/v1/")} == set(SCOPES)


def shop_a_client(world: World, scopes: list[str]) -> Client:
    client = Client()
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {api_key_create(shop=world.shop_a, scopes=scopes)[1]}"
    return client


@pytest.mark.parametrize("key", list(SCOPES), ids=[f"{method} /{route}" for route, method in SCOPES])
def test_a_key_without_the_operations_scope_is_refused_with_scope_missing(world, key):
    row, scope = ROWS[key], SCOPES[key]
    every_other_scope = [other for other in ApiScope.values if other != scope]

    refused = call(shop_a_client(world, every_other_scope), row, world)

    assert refused.status_code == 403
    assert refused.json() == {
        "code": "scope_missing",
        "message": f"This API key does not have the scope {scope}.",
        "field": None,
    }
    # That scope alone is enough: shop A gets what its key with the operational scopes gets.
    assert outcome_of(call(shop_a_client(world, [scope]), row, world)) == row.expect["shop_a"]


# --- Group rules ---------------------------------------------------------------------------------------------


def test_allauth_pages_show_nobody_elses_data(world):
    """accounts/ is sign-in, sign-up and account management: public forms, or the logged-in person's own."""
    others = [world.member_b.user.email, str(world.member_b.public_id), "B-1"]
    for route, name, namespace in all_routes():
        if not route.startswith("accounts/") or name is None or route_parameters(route):
            continue
        url = reverse(f"{namespace}:{name}" if namespace else name)
        for actor in ("anonymous", "member_a"):
            response = actor_client(world, actor).get(url)
            assert response.status_code < 500, (actor, url)
            body = response.content.decode(errors="replace")
            assert not any(value in body for value in others), (actor, url)


def test_signed_links_are_refused_when_tampered_with(world):
    good = unsubscribe_url(world)
    assert Client().get(good).status_code == 200
    assert Client().get(good[:-4] + "xx/").status_code == 404
    forged = signing.dumps({"m": str(world.member_b.public_id), "what": "marketing"}, compress=True)
    assert Client().get(f"/unsubscribe/{forged}/").status_code == 404
