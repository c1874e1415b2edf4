"""Behind the TLS proxy of README's Production every request comes from the proxy's address: the client's is the
one the proxy appends to X-Forwarded-For, believed only as far as TRUSTED_PROXY_COUNT says (config.proxies)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from urllib.parse import urlparse

import pytest
import time_machine
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client, RequestFactory
from django.urls import reverse

from config.proxies import client_ip
from loyalty.messages import LoyaltyMessage
from members.messaging import unsubscribe_url
from members.models import ConsentRecord, ConsentSource, Member
from members.services import consent_set
from referrals.models import Referral, ReferralClick, ReferralProgramme, ReferralStatus
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
PROXY = "10.0.0.2"
NOON = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1


def via_proxy(address: str, *, forged: str = "") -> Client:
    """A browser at ``address`` reaching the site through the proxy, which appends ``address`` to whatever
    X-Forwarded-For the browser sent (``forged``)."""
    header = f"{forged}, {address}" if forged else address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=header, HTTP_USER_AGENT="Phone/1.0")


def request_from(remote: str, forwarded_for: str | None = None):
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for is not None else {}
    return RequestFactory().get("/", REMOTE_ADDR=remote, **headers)


# --- Which address is the client's ------------------------------------------------------------------------


def test_without_a_trusted_proxy_a_forged_x_forwarded_for_is_ignored(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    assert client_ip(request_from("198.51.100.7", "203.0.113.1")) == "198.51.100.7"
    assert client_ip(request_from("198.51.100.7")) == "198.51.100.7"


def test_behind_one_proxy_the_client_is_the_address_the_proxy_appended(behind_proxy):
    assert client_ip(request_from(PROXY, "198.51.100.7")) == "198.51.100.7"
    # What the browser wrote itself is left of what the proxy appended, and is not believed.
    assert client_ip(request_from(PROXY, "203.0.113.1, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(request_from(PROXY, "2001:DB8::7")) == "2001:db8::7"
    assert client_ip(request_from(PROXY, "[2001:db8::7]:443")) == "2001:db8::7"
    assert client_ip(request_from(PROXY, "198.51.100.7:51234")) == "198.51.100.7"
    # Not through the proxy (a health check on the machine itself), or nonsense where the address should be.
    assert client_ip(request_from("127.0.0.1")) == "127.0.0.1"
    assert client_ip(request_from(PROXY, "not-an-address")) == PROXY


def test_behind_two_proxies_the_client_is_the_second_address_from_the_right(settings):
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_ip(request_from(PROXY, "203.0.113.1, 198.51.100.7, 10.0.0.1")) == "198.51.100.7"
    # Fewer addresses than proxies: the request skipped one, and the one address may be the browser's own.
    assert client_ip(request_from(PROXY, "203.0.113.1")) == PROXY


# --- Sign-in rate limits ----------------------------------------------------------------------------------


def test_one_clients_failed_logins_do_not_lock_out_another_clients_login_behind_the_proxy(behind_proxy):
    member = MemberFactory(user__email="kari@example.com")
    member.user.set_password("the-right-password")
    member.user.save()
    EmailAddress.objects.create(user=member.user, email=member.user.email, verified=True, primary=True)
    with time_machine.travel(NOON, tick=False):
        attacker = via_proxy("198.51.100.66")
        for n in range(31):
            attacker.post(reverse("account_login"), {"login": f"guess{n}@example.com", "password": "wrong"})
        assert attacker.post(reverse("account_login"), {"login": "x@example.com", "password": "y"}).status_code == 429

        kari = via_proxy("203.0.113.9")
        response = kari.post(reverse("account_login"), {"login": "kari@example.com", "password": "the-right-password"})
    assert response.status_code == 302
    assert kari.session["_auth_user_id"] == str(member.user.pk)


def test_a_client_cannot_escape_the_limit_by_forging_x_forwarded_for(settings):
    settings.TRUSTED_PROXY_COUNT = 0
    with time_machine.travel(NOON, tick=False):
        for n in range(31):
            forger = Client(REMOTE_ADDR="198.51.100.66", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
            forger.post(reverse("account_login"), {"login": f"guess{n}@example.com", "password": "wrong"})
        again = Client(REMOTE_ADDR="198.51.100.66", HTTP_X_FORWARDED_FOR="203.0.113.200")
        assert again.post(reverse("account_login"), {"login": "x@example.com", "password": "y"}).status_code == 429


def test_behind_the_proxy_a_forged_address_does_not_escape_the_limit_either(behind_proxy):
    with time_machine.travel(NOON, tick=False):
        for n in range(31):
            forger = via_proxy("198.51.100.66", forged=f"203.0.113.{n}")
            forger.post(reverse("account_login"), {"login": f"guess{n}@example.com", "password": "wrong"})
        again = via_proxy("198.51.100.66", forged="203.0.113.200")
        assert again.post(reverse("account_login"), {"login": "x@example.com", "password": "y"}).status_code == 429


# --- Referral rules and consent proofs --------------------------------------------------------------------


@pytest.fixture
def kari(shop, tiers, programme):
    referrals = ReferralProgramme.load()
    referrals.friend_bonus, referrals.referrer_reward, referrals.minimum_order = 200, 500, Decimal("300.00")
    referrals.save()
    make_order(shop, order_id="K-1", amount="100.00", email="kari@example.com", first_name="Kari")
    return Member.objects.select_related("user").get(user__email="kari@example.com")


def sign_up_through_link(browser: Client, *, code: str, email: str) -> None:
    browser.get(f"/r/{code}/")
    browser.post(reverse("account_signup"), {"email": email, "password1": "gr0nn-eple-tre"})
    browser.post(re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0))


def test_friends_behind_the_proxy_are_told_apart_by_the_referral_ip_rule(behind_proxy, kari):
    # Three friends on phones of one model (one user agent) sign up with Kari's link within the hour.
    friends = ["198.51.100.1", "198.51.100.2", "198.51.100.3"]
    for n, address in enumerate(friends):
        sign_up_through_link(via_proxy(address), code=kari.referral_code.code, email=f"friend{n}@example.com")
    referrals = list(Referral.objects.order_by("id"))
    assert [r.signup_ip for r in referrals] == friends
    assert [r.status for r in referrals] == [ReferralStatus.PENDING] * 3
    assert sorted(ReferralClick.objects.values_list("ip_address", flat=True)) == friends


def test_one_client_signing_up_many_friends_behind_the_proxy_is_still_held_for_review(behind_proxy, kari):
    for n in range(3):
        sign_up_through_link(via_proxy("198.51.100.9"), code=kari.referral_code.code, email=f"friend{n}@example.com")
    statuses = list(Referral.objects.order_by("id").values_list("status", flat=True))
    assert statuses == [ReferralStatus.PENDING, ReferralStatus.PENDING, ReferralStatus.REVIEW]


def test_a_consent_given_behind_the_proxy_records_the_clients_address(behind_proxy, kari):
    browser = via_proxy("198.51.100.23", forged="203.0.113.1")
    browser.force_login(kari.user)
    browser.post(reverse("portal:consents"), {"email_marketing": "on"})
    record = ConsentRecord.objects.get(member=kari)
    assert (record.granted, record.ip_address, record.user_agent) == (True, "198.51.100.23", "Phone/1.0")


def test_an_unsubscribe_behind_the_proxy_records_the_clients_address(behind_proxy):
    member = MemberFactory()
    consent_set(member=member, channel="email", granted=True, source=ConsentSource.PORTAL)
    via_proxy("198.51.100.24").post(urlparse(unsubscribe_url(member=member, kind=LoyaltyMessage.WINBACK)).path)
    record = ConsentRecord.objects.filter(member=member).first()
    assert (record.source, record.granted, record.ip_address) == (ConsentSource.UNSUBSCRIBE, False, "198.51.100.24")


def test_without_a_trusted_proxy_the_consent_proof_ignores_a_forged_address(settings, kari):
    settings.TRUSTED_PROXY_COUNT = 0
    browser = Client(REMOTE_ADDR="198.51.100.23", HTTP_X_FORWARDED_FOR="203.0.113.1")
    browser.force_login(kari.user)
    browser.post(reverse("portal:consents"), {"email_marketing": "on"})
    assert ConsentRecord.objects.get(member=kari).ip_address == "198.51.100.23"
