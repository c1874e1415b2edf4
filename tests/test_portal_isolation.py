"""A member can only ever see and change their own data: checked for every URL of the portal.

The test walks ``config.urls.portal_patterns``; a new portal URL fails it until it is listed here with
how to fill its parameters, so no page escapes the check.
"""

from __future__ import annotations

import json

import pytest
from django.urls import URLPattern, reverse

from config.urls import portal_patterns
from loyalty.models import Reward
from loyalty.rewards.catalogue import reward_redeem
from members.models import Member
from members.services import consent_set
from tests.conftest import make_order

pytestmark = pytest.mark.django_db

# The welcome page, the after-deletion page and claiming a membership by phone show nobody's data.
PUBLIC = {"home", "goodbye", "claim"}
# The code page without a number asked for first sends the visitor to ask for one: no login page, no data.
TO_CLAIM = {"claim_code"}
POST_ONLY = {"privacy_erase"}


@pytest.fixture
def two_members(shop, tiers, programme):
    make_order(shop, order_id="A-1", amount="900.00", email="anna@example.com", first_name="Anna", phone="+4790000001")
    make_order(
        shop, order_id="B-777", amount="800.00", email="bjorn@example.com", first_name="Bjørnar", phone="+4790000002"
    )
    anna = Member.objects.select_related("user").get(user__email="anna@example.com")
    bjorn = Member.objects.select_related("user").get(user__email="bjorn@example.com")
    reward = Reward.objects.create(name="Mug", points_cost=100)
    anna_voucher = reward_redeem(member=anna, reward=reward)
    bjorn_voucher = reward_redeem(member=bjorn, reward=reward)
    consent_set(member=bjorn, channel="email", granted=True, source="portal", ip_address="10.9.9.9")
    return anna, bjorn, reward, anna_voucher, bjorn_voucher


def portal_urls(reward: Reward, voucher_code: str) -> dict[str, str]:
    kwargs = {"reward": {"reward_id": reward.pk}, "voucher": {"code": voucher_code}}
    urls = {}
    for pattern in portal_patterns:
        assert isinstance(pattern, URLPattern)
        known = pattern.name in kwargs or not pattern.pattern.converters
        assert known, f"portal URL {pattern.name!r} takes parameters: add it to this test"
        urls[pattern.name] = reverse(f"portal:{pattern.name}", kwargs=kwargs.get(pattern.name))
    return urls


def test_every_portal_url_that_shows_member_data_needs_a_login(client, two_members):
    _anna, _bjorn, reward, anna_voucher, _ = two_members
    for name, url in portal_urls(reward, anna_voucher.code).items():
        response = client.post(url) if name in POST_ONLY else client.get(url)
        if name in PUBLIC:
            assert response.status_code == 200, name
            assert "anna@example.com" not in response.content.decode()
        elif name in TO_CLAIM:
            assert response.status_code == 302 and response.url == reverse("portal:claim"), name
        else:
            assert response.status_code == 302 and response.url.startswith(reverse("account_login")), name


def test_no_portal_page_shows_another_members_data(client, two_members):
    anna, bjorn, reward, anna_voucher, bjorn_voucher = two_members
    client.force_login(anna.user)
    theirs = [bjorn.user.email, "Bjørnar", "+4790000002", "B-777", bjorn_voucher.code, str(bjorn.public_id), "10.9.9.9"]
    for name, url in portal_urls(reward, anna_voucher.code).items():
        if name in POST_ONLY:
            continue
        body = client.get(url).content.decode()
        for value in theirs:
            assert value not in body, (name, value)
    assert client.get(reverse("portal:voucher", args=[bjorn_voucher.code])).status_code == 404
    export = json.loads(client.get(reverse("portal:privacy_export")).content)
    assert export["member"]["email"] == "anna@example.com"


def test_no_portal_form_changes_another_members_data(client, two_members):
    anna, bjorn, reward, _anna_voucher, _bjorn_voucher = two_members
    client.force_login(anna.user)
    client.post(reverse("portal:profile"), {"first_name": "X", "language": "sv", "phone": "+4790000003"})
    client.post(reverse("portal:consents"), {"sms_marketing": "on"})
    client.post(reverse("portal:privacy_erase"), {"email": bjorn.user.email})  # someone else's address: refused
    client.post(reverse("portal:reward", args=[reward.pk]), {"request_key": "k"})
    bjorn.refresh_from_db()
    bjorn.user.refresh_from_db()
    assert (bjorn.user.first_name, bjorn.language, bjorn.phone) == ("Bjørnar", "en", "+4790000002")
    assert (bjorn.email_marketing, bjorn.sms_marketing, bjorn.erased_at) == (True, False, None)
    assert bjorn.vouchers.count() == 1
    assert Member.objects.get(pk=anna.pk).erased_at is None
