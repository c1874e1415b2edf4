"""Points, tier, balance and staff flags cannot be set through any writable API endpoint or portal form.

Every write is sent with the ordinary data plus fields an attacker would add; the effect must be exactly the
ordinary one: the points the rules give, the tier the points give, and no staff or superuser flag.
"""

from __future__ import annotations

import json
import re

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from loyalty.models import LedgerEntry, PointsAccount, Reward, Tier
from loyalty.rewards.catalogue import reward_redeem
from members.models import Member, User
from tests.conftest import make_order, order_payload

pytestmark = pytest.mark.django_db

EVIL = {
    "points": 1_000_000,
    "balance": 1_000_000,
    "points_awarded": 1_000_000,
    "points_clawed_back": -500,
    "tier": "Gold",
    "tier_id": 3,
    "tier_points": 1_000_000,
    "is_staff": True,
    "is_superuser": True,
    "is_active": True,
    "groups": [1],
    "user_permissions": [1],
    "public_id": "00000000-0000-0000-0000-000000000001",
    "member_id": "00000000-0000-0000-0000-000000000001",
    "erased_at": None,
    "email_verified": True,
}


def assert_nobody_is_staff() -> None:
    assert not User.objects.filter(is_staff=True).exists()
    assert not User.objects.filter(is_superuser=True).exists()


def balance_of(email: str) -> int:
    return PointsAccount.objects.get(member__user__email=email).balance


def test_the_order_api_awards_only_what_the_rules_give(api, tiers, programme):
    payload = {**order_payload("M-1", email="eve@example.com", amount="100.00"), **EVIL}
    payload["member"] = {**payload["member"], **EVIL}
    payload["items"][0] = {**payload["items"][0], **EVIL}
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["points_awarded"] == 100
    assert balance_of("eve@example.com") == 100
    account = PointsAccount.objects.select_related("tier").get(member__user__email="eve@example.com")
    assert account.tier.name == "Bronze"
    assert str(Member.objects.get(user__email="eve@example.com").public_id) != EVIL["public_id"]
    assert_nobody_is_staff()


def test_the_refund_api_claws_back_only_the_refunds_share(api, shop, tiers, programme):
    make_order(shop, order_id="M-2", email="eve@example.com", amount="1000.00")
    response = api.post("/api/v1/orders/M-2/refunds/", {"refund_id": "R-1", "amount": "100.00", **EVIL}, format="json")
    assert response.status_code == 201
    assert response.json()["points_clawed_back"] == 100
    assert balance_of("eve@example.com") == 900


def test_member_enrolment_and_consents_set_no_points_tier_or_flags(api, tiers, programme):
    response = api.post("/api/v1/members/", {"email": "eve@example.com", "first_name": "Eve", **EVIL}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["balance"] == 0 and body["tier"]["name"] == "Bronze"
    member = Member.objects.get(user__email="eve@example.com")
    response = api.put(
        f"/api/v1/members/{member.public_id}/consents/", {"email_marketing": True, **EVIL}, format="json"
    )
    assert response.status_code == 200
    assert not LedgerEntry.objects.filter(member=member).exists()
    assert (
        PointsAccount.objects.filter(member=member, balance=0).exists()
        or not PointsAccount.objects.filter(member=member).exists()
    )
    assert_nobody_is_staff()


def test_using_a_voucher_moves_no_points(api, shop, tiers, programme):
    make_order(shop, order_id="M-3", email="eve@example.com", amount="500.00")
    eve = Member.objects.get(user__email="eve@example.com")
    voucher = reward_redeem(member=eve, reward=Reward.objects.create(name="Mug", points_cost=100))
    response = api.post(f"/api/v1/vouchers/{voucher.code}/redeem/", {"order_id": "T-1", **EVIL}, format="json")
    assert response.status_code == 200
    assert balance_of("eve@example.com") == 400


@pytest.fixture
def eve(shop, tiers, programme, client):
    make_order(shop, order_id="M-4", email="eve@example.com", amount="300.00", first_name="Eve")
    member = Member.objects.select_related("user").get(user__email="eve@example.com")
    client.force_login(member.user)
    return member


def test_portal_forms_set_no_points_tier_or_flags(client, eve):
    forms = [
        (reverse("portal:profile"), {"first_name": "Eve", "language": "en", "phone": "", **EVIL}),
        (reverse("portal:consents"), {"email_marketing": "on", **EVIL}),
        (reverse("set_language"), {"language": "sv", **EVIL}),
        (reverse("portal:reward", args=[Reward.objects.create(name="Pen", points_cost=50).pk]), {"request_key": "k"}),
    ]
    for url, data in forms:
        form = {key: json.dumps(v) if isinstance(v, list) else v for key, v in data.items() if v is not None}
        response = client.post(url, form)
        assert response.status_code in (200, 302), url
    eve.refresh_from_db()
    eve.user.refresh_from_db()
    assert balance_of("eve@example.com") == 250  # 300 earned, 50 spent on the pen: nothing from the extra fields
    assert PointsAccount.objects.get(member=eve).tier == Tier.objects.get(threshold=0)
    assert str(eve.public_id) != EVIL["public_id"]
    assert not (eve.user.is_staff or eve.user.is_superuser)
    assert eve.user.first_name == "Eve"


def test_sign_up_sets_no_staff_flags_or_points(client, tiers, programme):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "mallory@example.com",
            "password1": "a-long-pass-phrase-1",
            "first_name": "Mallory",
            **{key: value for key, value in EVIL.items() if isinstance(value, (bool, int, str))},
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="mallory@example.com")
    assert not (user.is_staff or user.is_superuser)
    assert not EmailAddress.objects.get(user=user).verified
    assert not LedgerEntry.objects.filter(member__user=user).exists()


def test_the_staff_admin_cannot_type_in_a_balance(admin_client, eve):
    """Staff change points only with a reasoned adjustment (a ledger entry), never by editing the balance."""
    url = reverse("admin:members_member_change", args=[eve.pk])
    page = admin_client.get(url).content.decode()
    fields = re.findall(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"', page)
    assert fields and not [name for name in fields if re.search(r"balance|tier|points|is_staff|is_superuser", name)]
    account_url = reverse("admin:loyalty_pointsaccount_change", args=[eve.pk])
    assert admin_client.post(account_url, {"balance": "1000000"}).status_code == 403
    assert balance_of("eve@example.com") == 300
