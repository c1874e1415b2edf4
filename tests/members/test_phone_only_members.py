"""Customers who give a shop only their phone: their order enrols them by phone (E.164, national numbers read as
the shop's country's), and they claim the membership in the portal with a code by SMS."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from loyalty.models import PointsAccount
from members.models import Member, PhoneCode
from members.services import PHONE_CODES_PER_HOUR, PhoneCodeRefused, phone_code_send, phone_code_verify
from tests.conftest import order_payload
from tests.loyalty.webhooks.support import load, shopify_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def elks(settings, httpserver):
    """46elks, played by a local HTTP server that records every SMS."""
    settings.SMS_BACKEND = "members.sms.FortySixElksBackend"
    settings.SMS_46ELKS_URL = httpserver.url_for("/")
    settings.SMS_46ELKS_USERNAME = "u-elks"
    settings.SMS_46ELKS_PASSWORD = "p-secret"
    httpserver.expect_request("/a1/sms", method="POST").respond_with_json({"id": "s1", "status": "created"})
    return httpserver


def texts(elks) -> list[dict[str, str]]:
    return [{k: v[0] for k, v in parse_qs(request.get_data(as_text=True)).items()} for request, _ in elks.log]


def code_in(text: str) -> str:
    return re.search(r"\b(\d{6})\b", text).group(1)


def phone_order(api, phone: str = "912 34 567", order_id: str = "P-1", amount: str = "800.00"):
    payload = order_payload(order_id=order_id, amount=amount)
    payload["member"] = {"phone": phone, "first_name": "Siri"}
    return api.post("/api/v1/orders/", payload, format="json")


def test_an_order_with_only_a_phone_enrols_the_member_by_phone(api, shop, tiers, programme):
    reply = phone_order(api)

    assert reply.status_code == 201, reply.json()
    member = Member.objects.get()
    assert member.phone == "+4791234567" and member.user.email is None
    assert member.user.first_name == "Siri" and not member.user.has_usable_password()
    assert PointsAccount.objects.get(member=member).balance == reply.json()["points_awarded"] == 800
    again = phone_order(api, phone="+47 91 23 45 67", order_id="P-2", amount="200.00")
    assert again.json()["member_id"] == str(member.public_id)  # the same member, found by phone


def test_a_national_number_is_read_as_the_shops_country(api, shop, tiers, programme):
    shop.country = "SE"
    shop.save()

    phone_order(api, phone="070-123 45 67")

    assert Member.objects.get().phone == "+46701234567"


def test_a_shopify_order_with_a_phone_and_no_email_earns_for_a_member_enrolled_by_phone(client, shop, tiers, programme):
    order = load("shopify_orders_paid.json")
    order["email"] = order["contact_email"] = None
    order["customer"]["email"] = None

    response = shopify_post(client, order)

    assert response.status_code == 200, response.json()
    member = Member.objects.get()
    assert (member.phone, member.user.email) == ("+4791234567", None)
    assert PointsAccount.objects.get(member=member).balance == 1797


def test_the_member_claims_the_points_with_a_code_by_sms(client, api, shop, tiers, programme, elks, mailoutbox):
    phone_order(api)

    asked = client.post(reverse("portal:claim"), {"phone": "+47 912 34 567"})
    code = code_in(texts(elks)[0]["message"])
    signed_in = client.post(reverse("portal:claim_code"), {"code": code})

    assert asked.status_code == 302 and asked["Location"] == reverse("portal:claim_code")
    assert texts(elks)[0]["to"] == "+4791234567"
    assert signed_in.status_code == 302 and signed_in["Location"] == reverse("account_email")
    home = client.get(reverse("portal:home"))
    assert home.status_code == 200 and "800" in home.content.decode()
    assert PhoneCode.objects.get().used_at is not None
    assert client.post(reverse("portal:claim_code"), {"code": code}).status_code == 302  # no phone in session now
    assert client.get(reverse("account_email")).status_code == 200
    added = client.post(reverse("account_email"), {"action_add": "", "email": "siri@example.com"})
    assert added.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["siri@example.com"]  # the link to confirm it


def test_an_unknown_number_gets_the_same_answer_and_no_sms(client, shop, elks):
    asked = client.post(reverse("portal:claim"), {"phone": "+47 912 34 567"})

    assert asked.status_code == 302 and asked["Location"] == reverse("portal:claim_code")
    assert texts(elks) == []
    assert "wrong or has expired" in client.post(reverse("portal:claim_code"), {"code": "123456"}).content.decode()


def test_a_member_with_an_email_cannot_be_signed_in_by_sms(api, shop, tiers, programme, elks):
    api.post("/api/v1/orders/", order_payload() | {"member": {"email": "kari@example.com", "phone": "91234567"}},
             format="json")  # fmt: skip

    assert phone_code_send(phone="+4791234567") is False
    assert texts(elks) == []


def test_wrong_codes_are_counted_and_five_kill_the_code(api, shop, tiers, programme, elks):
    phone_order(api)
    phone_code_send(phone="+4791234567")
    code = code_in(texts(elks)[0]["message"])
    wrong = "000000" if code != "000000" else "111111"

    for _ in range(5):
        with pytest.raises(PhoneCodeRefused):
            phone_code_verify(phone="+4791234567", code=wrong)

    assert PhoneCode.objects.get().attempts == 5
    with pytest.raises(PhoneCodeRefused):
        phone_code_verify(phone="+4791234567", code=code)  # right, but too late


def test_a_code_expires_after_ten_minutes(api, shop, tiers, programme, elks):
    phone_order(api)
    phone_code_send(phone="+4791234567")
    code = code_in(texts(elks)[0]["message"])

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=11)), pytest.raises(PhoneCodeRefused):
        phone_code_verify(phone="+4791234567", code=code)


def test_at_most_three_codes_an_hour(client, api, shop, tiers, programme, elks):
    phone_order(api)
    for _ in range(PHONE_CODES_PER_HOUR):
        phone_code_send(phone="+4791234567")

    refused = client.post(reverse("portal:claim"), {"phone": "+4791234567"})

    assert refused.status_code == 200 and "Too many codes" in refused.content.decode()
    assert len(texts(elks)) == PHONE_CODES_PER_HOUR


def test_a_member_without_an_email_confirms_deleting_the_account_with_the_phone(client, api, shop, tiers, programme):
    phone_order(api)
    member = Member.objects.get()
    client.force_login(member.user)

    wrong = client.post(reverse("portal:privacy_erase"), {"phone": "+47 400 00 000"})
    assert wrong.status_code == 400 and "not the mobile number" in wrong.content.decode()
    assert Member.objects.get().erased_at is None

    right = client.post(reverse("portal:privacy_erase"), {"phone": "912 34 567"})

    assert right.status_code == 302 and right["Location"] == reverse("portal:goodbye")
    assert Member.objects.get().erased_at is not None
