"""One mailbox, one membership: every spelling of an address that mail delivers to one mailbox (capitals,
fullwidth letters, invisible characters, decomposed accents, an ``xn--`` domain) is one account, in sign-up,
sign-in, the shop API, orders and the referral self-checks; accounts made before are listed for staff."""

from __future__ import annotations

import importlib
import re

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.core import mail
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from loyalty.models import Order
from members.emails import email_canonical
from members.models import Member, User
from referrals.errors import ReferralSelf
from referrals.models import Referral, ReferralProgramme
from referrals.services import referral_check
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

# Each reaches the mailbox mema@example.com: the attack's look-alikes.
LOOK_ALIKES = [
    "MEMA@Example.com",
    "mema@ex\u200dample.com",  # zero-width joiner
    "mema@ex\u00adample.com",  # soft hyphen
    "mema@\uff45xample.com",  # fullwidth e
    "\uff4d\uff45\uff4d\uff41@example.com",  # fullwidth local part
    "me\u200bma@example.com",  # zero-width space in the local part
    "mema@example.com\ufeff",  # byte order mark
]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


@pytest.mark.parametrize("address", LOOK_ALIKES)
def test_every_look_alike_has_the_plain_address_as_its_canonical_form(address):
    assert email_canonical(address) == "mema@example.com"


def test_every_spelling_of_an_international_domain_is_one_domain():
    spellings = ["ola@blåbær.no", "ola@bla\u030abær.no", "OLA@BLÅBÆR.NO", "ola@xn--blbr-roah.no"]
    assert {email_canonical(address) for address in spellings} == {"ola@blåbær.no"}


def test_an_address_that_is_not_one_is_tidied_but_left_for_validation_to_refuse():
    assert email_canonical(" Not An Address ") == "not an address"
    assert email_canonical("a@exa..mple.com") == "a@exa..mple.com"


def test_look_alike_enrolments_by_the_api_all_answer_the_one_member(api):
    first = api.post("/api/v1/members/", {"email": "mema@example.com"}, format="json")
    assert first.status_code == 201
    for address in LOOK_ALIKES:
        again = api.post("/api/v1/members/", {"email": address}, format="json")
        assert again.status_code in (200, 400), (address, again.json())
        if again.status_code == 200:
            assert again.json()["member_id"] == first.json()["member_id"]
    assert Member.objects.count() == 1


def test_an_order_from_a_look_alike_address_earns_for_the_member_it_reaches(shop, tiers, programme):
    member = MemberFactory(user__email="mema@example.com")
    make_order(shop, order_id="L-1", email="mema@ex\u00adample.com")
    assert Order.objects.get(external_id="L-1").member == member
    assert Member.objects.count() == 1


def test_a_look_alike_sign_up_with_the_members_own_code_makes_no_second_account(client, shop, tiers, programme):
    programme_settings = ReferralProgramme.load()
    programme_settings.friend_bonus = 200
    programme_settings.save()
    make_order(shop, order_id="M-1", email="mema@example.com", first_name="Mema")
    mema = Member.objects.get()
    code = mema.referral_code.code

    client.post(
        reverse("account_signup"),
        {"email": "mema@ex\u200dample.com", "password1": "gr0nn-eple-tre", "referral_code": code},
    )

    assert User.objects.count() == 1
    assert not Referral.objects.exists()
    assert not re.search(r"/accounts/confirm-email/", "".join(message.body for message in mail.outbox))


def test_the_referral_self_check_sees_through_look_alikes(shop, tiers, programme):
    mema = MemberFactory(user__email="mema@gmail.com")
    for address in ("m.e.m.a+club@gmail.com", "MEMA@\uff47mail.com", "me\u00adma@googlemail.com"):
        with pytest.raises(ReferralSelf):
            referral_check(referrer=mema, email=address)


@pytest.mark.parametrize("typed", ["MEMA@\uff25xample.com", "mema@ex\u00adample.com"])
def test_a_member_signs_in_with_any_spelling_of_their_address(client, typed):
    user = User.objects.create_user(email="mema@example.com", password="gr0nn-eple-tre")
    EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
    Member.objects.create(user=user)

    response = client.post(reverse("account_login"), {"login": typed, "password": "gr0nn-eple-tre"})

    assert response.status_code == 302, response.content.decode()
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_password_reset_for_a_look_alike_reaches_the_one_account(client):
    User.objects.create_user(email="mema@example.com", password="gr0nn-eple-tre")
    client.post(reverse("account_reset_password"), {"email": "mema@ex\u200dample.com"})
    assert [message.to for message in mail.outbox] == [["mema@example.com"]]


def _make_user(email: str) -> User:
    """A user stored as the code before canonical forms stored them: only lower-cased."""
    user = User.objects.create_user(email="placeholder@example.com")
    User.objects.filter(pk=user.pk).update(email=email)
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=True)
    user.refresh_from_db()
    Member.objects.create(user=user)
    return user


def test_the_migration_stores_canonical_forms_and_leaves_collisions_for_staff():
    migration = importlib.import_module("members.migrations.0013_email_canonical")
    plain = _make_user("mema@example.com")
    look_alike = _make_user("mema@ex\u00adample.com")
    lonely = _make_user("ola@\uff45xample.com")

    migration.emails_canonical(apps, None)

    plain.refresh_from_db(), look_alike.refresh_from_db(), lonely.refresh_from_db()
    assert lonely.email == "ola@example.com"
    assert EmailAddress.objects.get(user=lonely).email == "ola@example.com"
    assert (plain.email, look_alike.email) == ("mema@example.com", "mema@ex\u00adample.com")


def test_the_collisions_command_lists_each_mailbox_with_more_than_one_account(capsys):
    _make_user("mema@example.com")
    look_alike = _make_user("mema@ex\u00adample.com")
    _make_user("ola@example.com")

    with pytest.raises(CommandError, match="1 mailbox"):
        call_command("email_collisions")

    listing = capsys.readouterr().out
    assert "mema@example.com:" in listing
    assert str(look_alike.member.public_id) in listing and "ola@" not in listing


def test_the_collisions_command_is_quiet_when_every_mailbox_has_one_account(capsys):
    _make_user("mema@example.com")
    call_command("email_collisions")
    assert "No collisions" in capsys.readouterr().out
