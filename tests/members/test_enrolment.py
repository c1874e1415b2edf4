from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from members.models import Member, User
from members.phones import normalize_phone
from members.services import PhoneInUse, member_enrol

pytestmark = pytest.mark.django_db


def test_enrolment_normalises_email_and_is_idempotent():
    first, created = member_enrol(email="  Kari@Example.COM ", first_name="Kari")
    again, created_again = member_enrol(email="kari@example.com", first_name="Other")
    assert (created, created_again) == (True, False)
    assert first == again
    assert first.user.email == "kari@example.com"
    assert first.user.first_name == "Kari"
    assert not first.user.has_usable_password()


def test_enrolment_refuses_a_phone_that_belongs_to_another_member():
    member_enrol(email="a@example.com", phone="+4791234567")
    with pytest.raises(PhoneInUse):
        member_enrol(email="b@example.com", phone="+4791234567")
    assert not User.objects.filter(email="b@example.com").exists()


@pytest.mark.parametrize(
    ("raw", "e164"),
    [("912 34 567", "+4791234567"), ("+46 70 123 45 67", "+46701234567"), ("0045 20 12 34 56", "+4520123456")],
)
def test_phone_numbers_are_stored_in_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize("raw", ["12", "abc", "+47 1"])
def test_invalid_phone_numbers_are_refused(raw):
    with pytest.raises(ValidationError):
        normalize_phone(raw)


def test_member_phone_field_accepts_only_e164():
    member, _ = member_enrol(email="a@example.com")
    member.phone = "912 34 567"
    with pytest.raises(ValidationError):
        member.full_clean()
    member.phone = "+4791234567"
    member.full_clean()


def test_member_has_language_birthday_and_unguessable_public_id():
    member, _ = member_enrol(email="a@example.com", language="sv")
    assert member.language == "sv"
    assert member.birthday is None
    assert len(str(member.public_id)) == 36
    assert Member.objects.get(public_id=member.public_id) == member
