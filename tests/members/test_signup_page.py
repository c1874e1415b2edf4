"""Sign-up and log-in say what the club gives, link the privacy policy and the terms, and sign-up offers the
email marketing opt-in (unticked), recorded with its proof when ticked (issue 16)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.urls import reverse

from loyalty.models import ActionKind, PointsAction, Programme
from members.models import ConsentChannel, ConsentRecord, ConsentSource, Member

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def club(settings, tiers, programme):
    settings.KLUBB_CLUB_NAME = "Nordlys Klubb"
    tiers[1].free_shipping = True
    tiers[1].save()
    PointsAction.objects.create(name="Welcome", kind=ActionKind.SIGNUP, points=200, is_active=True)
    Programme.objects.filter(pk=programme.pk).update(points_per_unit=Decimal("1"), birthday_bonus=100)


def main(html: str) -> str:
    return html[html.index("<main") : html.index("</main>")]


def test_the_sign_up_page_says_what_the_member_gets_and_links_privacy_and_terms(client, club):
    html = main(client.get(reverse("account_signup")).content.decode())
    assert "Join Nordlys Klubb" in html
    assert "200 welcome points when you join" in html
    assert "100 points for every NOK\xa0100.00 you spend" in html
    assert "100 points on your birthday" in html
    assert re.search(r"Silver from 1,000 points:[^<]*Free shipping", html)
    assert f'href="{reverse("privacy-policy")}"' in html and f'href="{reverse("terms")}"' in html
    box = re.search(r'<input[^>]*name="email_marketing"[^>]*>', html).group(0)
    assert 'type="checkbox"' in box and "checked" not in box
    assert 'name="referral_code"' in html  # the friend's code stays


def test_the_sign_up_page_speaks_norwegian(client, club):
    client.cookies["django_language"] = "nb"
    html = main(client.get(reverse("account_signup")).content.decode())
    assert "200 velkomstpoeng når du blir medlem" in html
    assert "for hver 100,00\xa0kr du handler for" in html


def test_the_log_in_page_tells_the_pitch_and_links_privacy_and_terms(client, club):
    html = main(client.get(reverse("account_login")).content.decode())
    assert "Nordlys Klubb" in html and "200 welcome points when you join" in html
    assert f'href="{reverse("privacy-policy")}"' in html and f'href="{reverse("terms")}"' in html
    assert f'href="{reverse("account_signup")}"' in html


def test_the_clubs_own_privacy_and_terms_pages_are_linked_when_configured(client, club, settings):
    settings.KLUBB_PRIVACY_URL = "https://nordlys.example/personvern"
    settings.KLUBB_TERMS_URL = "https://nordlys.example/vilkar"
    html = main(client.get(reverse("account_signup")).content.decode())
    assert 'href="https://nordlys.example/personvern"' in html and 'href="https://nordlys.example/vilkar"' in html


def test_the_built_in_privacy_and_terms_pages_name_the_club(client, club):
    assert "Nordlys Klubb keeps what it needs" in client.get(reverse("privacy-policy")).content.decode()
    assert "Membership of Nordlys Klubb is free" in client.get(reverse("terms")).content.decode()


def sign_up(client, **extra: str) -> Member:
    data = {"email": "nora@example.com", "password1": "gr0nn-eple-tre", **extra}
    response = client.post(reverse("account_signup"), data, HTTP_USER_AGENT="Firefox/140", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302, main(response.content.decode())
    return Member.objects.get(user__email="nora@example.com")


def test_ticking_the_opt_in_records_a_consent_with_its_proof(client, club):
    member = sign_up(client, email_marketing="on")
    assert member.email_marketing
    record = ConsentRecord.objects.get(member=member)
    assert (record.channel, record.granted, record.source) == (ConsentChannel.EMAIL, True, ConsentSource.PORTAL)
    assert record.wording == "Yes, send me offers and news from the club by email."
    assert (record.ip_address, record.user_agent) == ("203.0.113.9", "Firefox/140")


def test_not_ticking_the_opt_in_records_no_consent(client, club):
    member = sign_up(client)
    assert not member.email_marketing
    assert not ConsentRecord.objects.filter(member=member).exists()
