"""Tier benefits a checkout can apply, typed, in the member API: free shipping, a percent off, more points, text."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError

from loyalty.models import Tier
from members.models import Member
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


def test_the_member_api_returns_the_tiers_benefits_with_their_types(api, shop, tiers, programme):
    silver = Tier.objects.get(name="Silver")
    silver.free_shipping = True
    silver.percent_off = Decimal("7.50")
    silver.benefits = "Early access to sales"
    silver.save()
    make_order(shop, amount="1200.00")  # Kari reaches Silver (x1.25)
    member = Member.objects.get()

    reply = api.get(f"/api/v1/members/{member.public_id}/", HTTP_ACCEPT_LANGUAGE="en")

    assert reply.json()["tier"]["typed_benefits"] == [
        {"type": "free_shipping", "value": None, "text": "Free shipping"},
        {"type": "percent_off", "value": "7.5", "text": "7.5 % off every order"},
        {"type": "points_multiplier", "value": "1.25", "text": "1.25 times the points"},
        {"type": "text", "value": None, "text": "Early access to sales"},
    ]
    assert reply.json()["tier"]["benefits"] == ["Early access to sales"]  # unchanged for existing integrations
    gold = reply.json()["next_tier"]["typed_benefits"]
    assert gold == [{"type": "points_multiplier", "value": "1.5", "text": "1.5 times the points"}]


def test_a_tier_without_benefits_has_none(api, shop, tiers, programme):
    make_order(shop, amount="100.00")
    member = Member.objects.get()

    assert api.get(f"/api/v1/members/{member.public_id}/").json()["tier"]["typed_benefits"] == []


def test_the_database_refuses_a_discount_over_100_percent(tiers):
    with pytest.raises(IntegrityError):
        Tier.objects.filter(name="Gold").update(percent_off=Decimal("120"))


@pytest.mark.parametrize(
    ("language", "multiplier", "percent"),
    [("nb", "1,25", "7,5"), ("sv", "1,25", "7,5"), ("da", "1,25", "7,5"), ("en", "1.25", "7.5")],
)
def test_benefit_texts_write_numbers_as_the_members_language_does(
    api, shop, tiers, programme, language, multiplier, percent
):
    Tier.objects.filter(name="Silver").update(percent_off=Decimal("7.50"))
    make_order(shop, amount="1200.00")
    member = Member.objects.get()

    benefits = api.get(f"/api/v1/members/{member.public_id}/", HTTP_ACCEPT_LANGUAGE=language).json()["tier"][
        "typed_benefits"
    ]

    texts = {benefit["type"]: benefit for benefit in benefits}
    assert multiplier in texts["points_multiplier"]["text"]
    assert percent in texts["percent_off"]["text"]
    assert (texts["points_multiplier"]["value"], texts["percent_off"]["value"]) == ("1.25", "7.5")  # machine values
