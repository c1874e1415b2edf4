"""Sign-in through django-allauth: sign-up with email verification, codes, claiming a shop-enrolled
membership, throttling, the member's language, and two-factor authentication for staff."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from members.models import Member, User
from tests.conftest import give_two_factor, make_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_factory():
    """A new browser (no shared session) for each call, as an attacker switching sessions would be."""
    from django.test import Client

    return Client


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def link_in_last_mail(pattern: str = r"https?://\S+/accounts/confirm-email/\S+/") -> str:
    match = re.search(pattern, mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


def code_in_last_mail() -> str:
    match = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE)
    assert match, mail.outbox[-1].body
    return match.group(1)


def current_totp(secret: str) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


def test_sign_up_verifies_the_email_and_makes_a_member_in_the_chosen_language(client, tiers, programme):
    client.cookies["django_language"] = "nb"
    response = client.post(reverse("account_signup"), {"email": "Nora@Example.com", "password1": "gr0nn-eple-tre"})
    assert response.status_code == 302
    member = Member.objects.select_related("user").get()
    assert (member.user.email, member.language, member.source) == ("nora@example.com", "nb", Member.Source.PORTAL)
    assert not EmailAddress.objects.get(user=member.user).verified
    assert client.get(reverse("portal:home")).context.get("member") is None  # not logged in before verifying

    confirm_url = link_in_last_mail()
    client.post(confirm_url)
    assert EmailAddress.objects.get(user=member.user).verified

    client.post(reverse("account_login"), {"login": "nora@example.com", "password": "gr0nn-eple-tre"})
    page = client.get(reverse("portal:home"))
    assert page.context["member"] == member
    assert page.context["standing"].balance == 0


def test_signing_up_twice_with_one_email_makes_one_member(client):
    data = {"email": "nora@example.com", "password1": "gr0nn-eple-tre"}
    client.post(reverse("account_signup"), data)
    client.post(reverse("account_signup"), data)
    assert Member.objects.count() == User.objects.count() == 1


def test_bad_sign_up_shows_the_reason_and_creates_nothing(client):
    response = client.post(reverse("account_signup"), {"email": "not-an-email", "password1": "123"})
    assert response.status_code == 200
    assert response.context["form"].errors.keys() >= {"email"}
    assert not User.objects.exists()


def test_member_enrolled_by_a_shop_claims_the_account_with_a_code_and_keeps_the_points(client, shop, tiers, programme):
    make_order(shop, order_id="1001", amount="1500.00", email="kari@example.com")
    member = Member.objects.get(user__email="kari@example.com")
    assert not member.user.has_usable_password()

    client.post(reverse("account_request_login_code"), {"email": "kari@example.com"})
    response = client.post(reverse("account_confirm_login_code"), {"code": code_in_last_mail()})
    assert response.status_code == 302

    page = client.get(reverse("portal:home"))
    assert page.context["member"] == member
    assert page.context["standing"].balance == 1500
    assert EmailAddress.objects.get(user=member.user).verified


def test_sign_in_emails_come_from_the_club_in_the_members_language(client, member, settings):
    settings.KLUBB_CLUB_NAME = "Nordlys Klubb"
    client.cookies["django_language"] = "nb"
    client.post(reverse("account_request_login_code"), {"email": member.user.email})
    message = mail.outbox[-1]
    assert message.subject.startswith("Nordlys Klubb: ")
    assert "Hei fra Nordlys Klubb!" in message.body


def test_a_wrong_login_code_does_not_log_in(client, member):
    client.post(reverse("account_request_login_code"), {"email": member.user.email})
    response = client.post(reverse("account_confirm_login_code"), {"code": "WRONG1"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_failed_logins_for_one_account_are_throttled(client, member):
    member.user.set_password("the-right-password")
    member.user.save()
    for _ in range(5):
        response = client.post(reverse("account_login"), {"login": member.user.email, "password": "wrong"})
        assert response.status_code == 200
    response = client.post(reverse("account_login"), {"login": member.user.email, "password": "the-right-password"})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)
    assert "Too many failed login attempts" in response.content.decode()


def test_login_code_requests_are_throttled_per_address(member, client_factory):
    for _ in range(3):
        client_factory().post(reverse("account_request_login_code"), {"email": member.user.email})
    assert len(mail.outbox) == 3
    response = client_factory().post(reverse("account_request_login_code"), {"email": member.user.email})
    assert len(mail.outbox) == 3
    assert "Too many" in response.content.decode()


def test_logging_in_switches_to_the_members_saved_language(client, member):
    member.language = "sv"
    member.save()
    member.user.set_password("the-right-password")
    member.user.save()
    EmailAddress.objects.create(user=member.user, email=member.user.email, verified=True, primary=True)

    response = client.post(reverse("account_login"), {"login": member.user.email, "password": "the-right-password"})
    assert response.status_code == 302
    assert response.cookies["django_language"].value == "sv"


def test_staff_without_two_factor_are_sent_to_set_it_up(client, db):
    staff = User.objects.create_user(email="staff@klubb.test", password="pw-for-tests-123", is_staff=True)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    client.post(reverse("account_login"), {"login": staff.email, "password": "pw-for-tests-123"})
    response = client.get("/admin/", follow=True)
    # allauth asks for the password again before a new authenticator is set up.
    reauthenticate = response.redirect_chain[-1][0]
    assert reauthenticate.startswith(reverse("account_reauthenticate"))
    assert "totp%2Factivate" in reauthenticate
    response = client.post(reauthenticate, {"password": "pw-for-tests-123"}, follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("mfa_activate_totp"))
    assert "otpauth://" in response.content.decode() or response.context["form"].secret
    assert client.get("/admin/loyalty/shop/").status_code == 302


def test_staff_log_in_with_password_and_authenticator_code(client, db):
    staff = User.objects.create_user(email="staff@klubb.test", password="pw-for-tests-123", is_staff=True)
    EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
    secret = give_two_factor(staff)

    assert client.get("/admin/", follow=True).redirect_chain[-1][0].startswith(reverse("account_login"))
    response = client.post(
        f"{reverse('account_login')}?next=/admin/", {"login": staff.email, "password": "pw-for-tests-123"}
    )
    assert response.url.startswith(reverse("mfa_authenticate"))
    assert "_auth_user_id" not in client.session

    wrong = client.post(
        reverse("mfa_authenticate"), {"code": "000000" if current_totp(secret) != "000000" else "111111"}
    )
    assert "_auth_user_id" not in client.session and wrong.status_code == 200

    client.post(reverse("mfa_authenticate"), {"code": current_totp(secret)})
    assert client.get("/admin/").status_code == 200


def test_a_member_cannot_open_the_admin(client, member):
    client.force_login(member.user)
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")


def test_demo_staff_log_in_with_the_published_password_and_demo_totp_code(client, settings):
    from io import StringIO

    from django.core.management import call_command

    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    code = StringIO()
    call_command("demo_totp", stdout=code)

    response = client.post(
        f"{reverse('account_login')}?next=/admin/", {"login": "admin@klubb.test", "password": "klubb-demo-admin"}
    )
    assert response.url.startswith(reverse("mfa_authenticate"))
    client.post(reverse("mfa_authenticate"), {"code": code.getvalue().strip()})
    assert client.get("/admin/").status_code == 200
    # The demo members can log in with their published password straight away (addresses verified).
    client.logout()
    response = client.post(reverse("account_login"), {"login": "kari@example.com", "password": "klubb-demo"})
    assert response.url == reverse("portal:home")


def test_member_enrolled_by_a_shop_claims_the_account_with_a_password_reset(client, shop, tiers, programme):
    make_order(shop, order_id="1001", amount="700.00", email="kari@example.com")
    client.post(reverse("account_reset_password"), {"email": "kari@example.com"})
    reset_link = link_in_last_mail(r"https?://\S+/accounts/password/reset/key/\S+/")
    form_page = client.get(reset_link, follow=True)
    set_password_url = form_page.redirect_chain[-1][0]
    client.post(set_password_url, {"password1": "mitt-nye-passord-3", "password2": "mitt-nye-passord-3"})

    response = client.post(reverse("account_login"), {"login": "kari@example.com", "password": "mitt-nye-passord-3"})
    assert response.status_code == 302
    assert client.get(reverse("portal:home")).context["standing"].balance == 700


def test_member_changes_email_and_logs_in_with_the_new_address_once_verified(client, member):
    member.user.set_password("the-right-password")
    member.user.save()
    EmailAddress.objects.create(user=member.user, email=member.user.email, verified=True, primary=True)
    client.post(reverse("account_login"), {"login": member.user.email, "password": "the-right-password"})

    client.post(reverse("account_email"), {"action_add": "", "email": "kari.new@example.com"})
    client.post(link_in_last_mail())
    member.user.refresh_from_db()
    assert member.user.email == "kari.new@example.com"
    assert Member.objects.get(user__email="kari.new@example.com") == member
