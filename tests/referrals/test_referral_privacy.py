"""A member's referrals are in their data export, and erasing the member wipes where they signed up from and what
the clicks on their link recorded; the referrals themselves (and the rewards paid for them) stay."""

from __future__ import annotations

import pytest

from members.models import ConsentSource, Member
from members.services import member_data_export, member_erase
from referrals.models import Referral, ReferralClick
from referrals.services import referral_attach
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari_and_friend(programme_settings) -> tuple[Member, Member]:
    kari = MemberFactory(user__email="kari@example.com")
    friend = MemberFactory(user__email="friend@example.com")
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True,
                    ip_address="198.51.100.7", user_agent="Mozilla/5.0 (Friend's phone)")  # fmt: skip
    ReferralClick.objects.create(code=kari.referral_code, ip_address="203.0.113.9", user_agent="Clicker/1")
    return kari, friend


def test_the_export_holds_the_members_referrals_both_ways(kari_and_friend):
    kari, friend = kari_and_friend

    karis = member_data_export(member=kari)["referrals"]
    friends = member_data_export(member=friend)["referrals"]

    assert karis["referral_code"] == kari.referral_code.code
    assert [r["status"] for r in karis["referrals_made"]] == [Referral.objects.get().status]
    assert friends["referred"]["signup_ip"] == "198.51.100.7"
    assert friends["referrals_made"] == []


def test_erasing_the_friend_wipes_where_they_signed_up_from(kari_and_friend):
    _kari, friend = kari_and_friend

    member_erase(member=friend, source=ConsentSource.ERASURE)

    referral = Referral.objects.get()
    assert (referral.signup_ip, referral.signup_user_agent) == (None, "")  # the referral itself stays


def test_erasing_the_referrer_wipes_their_links_clicks_and_stops_the_link(kari_and_friend):
    kari, _friend = kari_and_friend

    member_erase(member=kari, source=ConsentSource.ERASURE)

    click = ReferralClick.objects.get()
    assert (click.ip_address, click.user_agent) == (None, "")
    kari.referral_code.refresh_from_db()
    assert kari.referral_code.is_active is False
    assert Referral.objects.get().signup_ip == "198.51.100.7"  # the friend's own data is the friend's to erase
