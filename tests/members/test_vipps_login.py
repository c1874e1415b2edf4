"""'Log in with Vipps' end to end: allauth's OpenID Connect provider against a real local OpenID Connect
provider (oidc-provider-mock, in a thread), through authorize, the provider's consent form and the callback."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from allauth.socialaccount.models import SocialAccount
from django.test import override_settings
from django.urls import reverse
from oidc_provider_mock import User as ProviderUser
from oidc_provider_mock import run_server_in_thread

from config.settings.base import vipps_provider_settings
from members.models import Member
from tests.conftest import make_order

pytestmark = pytest.mark.django_db

OLA = ProviderUser(
    sub="vipps-ola",
    claims={
        "email": "ola.nordmann@example.no",
        "email_verified": True,
        "given_name": "Ola",
        "family_name": "Nordmann",
        "phone_number": "4791234567",
    },
)
KARI = ProviderUser(
    sub="vipps-kari", claims={"email": "kari@example.com", "email_verified": True, "given_name": "Kari"}
)


@pytest.fixture
def vipps() -> Iterator[str]:
    """A running provider and the settings that point allauth at it; yields its issuer URL."""
    with run_server_in_thread(user_claims=[OLA, KARI]) as server:
        issuer = f"http://localhost:{server.server_port}"
        # The local provider releases names for the standard "profile" scope; Vipps calls that scope "name".
        providers = vipps_provider_settings(
            client_id="klubb-test",
            secret="klubb-test-secret",
            server_url=issuer,
            scopes=["openid", "email", "profile", "phone"],
        )
        with override_settings(SOCIALACCOUNT_PROVIDERS=providers):
            yield issuer


def log_in_with_vipps(client, issuer: str, sub: str):
    """What a person's browser does: start at Klubb, approve at the provider, come back to the callback."""
    start = client.post("/accounts/oidc/vipps/login/")
    assert start.status_code == 302 and start.url.startswith(f"{issuer}/oauth2/authorize"), start
    consent_form = httpx.get(start.url)
    assert consent_form.status_code == 200
    approved = httpx.post(start.url, data={"sub": sub})
    assert approved.status_code == 302, approved.text
    callback = urlsplit(approved.headers["location"])
    assert callback.path == "/accounts/oidc/vipps/login/callback/"
    return client.get(f"{callback.path}?{callback.query}")


def test_the_vipps_button_is_hidden_until_vipps_is_configured(client, vipps):
    assert "Log in with Vipps" in client.get(reverse("account_login")).content.decode()
    with override_settings(SOCIALACCOUNT_PROVIDERS=vipps_provider_settings(client_id="", secret="", server_url="")):
        assert "Vipps" not in client.get(reverse("account_login")).content.decode()
        assert client.post("/accounts/oidc/vipps/login/").status_code == 404


def test_a_new_vipps_user_becomes_a_member_and_is_logged_in(client, vipps, tiers, programme):
    response = log_in_with_vipps(client, vipps, OLA.sub)
    assert response.status_code == 302 and response.url == reverse("portal:home")

    member = Member.objects.select_related("user").get()
    assert (member.user.email, member.user.first_name, member.user.last_name) == (
        "ola.nordmann@example.no",
        "Ola",
        "Nordmann",
    )
    assert SocialAccount.objects.get(user=member.user).uid == OLA.sub
    assert client.get(reverse("portal:home")).context["member"] == member


def test_vipps_login_of_a_known_email_opens_the_existing_membership(client, vipps, shop, tiers, programme):
    make_order(shop, order_id="77", amount="800.00", email="kari@example.com")
    existing = Member.objects.get()

    response = log_in_with_vipps(client, vipps, KARI.sub)
    assert response.status_code == 302 and response.url == reverse("portal:home")

    assert Member.objects.count() == 1
    page = client.get(reverse("portal:home"))
    assert page.context["member"] == existing
    assert page.context["standing"].balance == 800


def test_a_wrong_client_secret_logs_nobody_in(client, tiers, programme):
    with run_server_in_thread(user_claims=[OLA], require_client_registration=True) as server:
        issuer = f"http://localhost:{server.server_port}"
        providers = vipps_provider_settings(client_id="unknown-client", secret="wrong", server_url=issuer)
        with override_settings(SOCIALACCOUNT_PROVIDERS=providers):
            start = client.post("/accounts/oidc/vipps/login/")
            refused = httpx.get(start.url)
    assert refused.status_code == 400
    assert not Member.objects.exists()
    assert "_auth_user_id" not in client.session
