"""On PostgreSQL, with real concurrent transactions: a referrer is never paid twice for one friend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from loyalty.errors import LoyaltyError
from loyalty.models import EntryKind, LedgerEntry
from loyalty.orders import OrderInput, order_record
from loyalty.shops import MemberRef
from members.models import Member
from referrals.models import DiscountKind, FriendDiscount, Referral, ReferralProgramme, ReferralStatus
from referrals.services import referral_attach, referral_reward
from tests.conftest import make_order
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import assert_ledger_clean, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def referral(shop, tiers, programme):
    ReferralProgramme.load()
    make_order(shop, order_id="K-1", amount="10.00", email="kari@example.com", first_name="Kari")
    kari = Member.objects.get(user__email="kari@example.com")
    friend = MemberFactory(user__email="ola@example.com")
    return referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)


def referrer_rewards(referral: Referral) -> int:
    return LedgerEntry.objects.filter(member=referral.referrer, kind=EntryKind.BONUS).count()


def test_two_first_orders_at_once_qualify_the_referral_once_and_pay_once(shop, referral):
    def order(order_id: str) -> str:
        order_record(
            shop=shop,
            order=OrderInput(
                order_id=order_id,
                member=MemberRef(email="ola@example.com"),
                amount=Decimal("500.00"),
                currency=shop.currency,
                occurred_at=timezone.now(),
            ),
        )
        return order_id

    run_together(order, ["A-1", "A-2", "A-3", "A-4"])
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.QUALIFIED
    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        run_together(lambda _n: referral_reward(referral_id=referral.pk).status, range(8))
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.REWARDED
    assert referrer_rewards(referral) == 1
    assert_ledger_clean()


def test_one_friend_attached_through_two_codes_at_once_is_referred_once(shop, tiers, programme):
    ReferralProgramme.load()
    referrers = [MemberFactory(user__email=f"r{n}@example.com") for n in range(2)]
    friend = MemberFactory(user__email="ola@example.com")

    def attach(referrer: Member) -> str:
        try:
            referral_attach(friend=friend, code=referrer.referral_code.code, source="portal", new_member=True)
        except LoyaltyError as refused:
            return refused.code
        return "ok"

    outcomes = sorted(run_together(attach, referrers))
    assert outcomes == ["ok", "referral_already_referred"]
    assert Referral.objects.count() == 1
    assert LedgerEntry.objects.filter(member=friend, kind=EntryKind.BONUS).count() == 1


def test_one_mailbox_ordering_with_the_referrers_code_twice_at_once_gets_one_referral_and_one_discount(
    shop, tiers, programme
):
    referrals = ReferralProgramme.load()
    referrals.friend_discount_kind, referrals.friend_discount_value = DiscountKind.AMOUNT, Decimal("100.00")
    referrals.save()
    make_order(shop, order_id="K-1", amount="10.00", email="kari@example.com", first_name="Kari")
    code = Member.objects.get(user__email="kari@example.com").referral_code.code
    when = timezone.now()

    def order(spelling: tuple[str, str]) -> str:
        order_id, email = spelling
        make_order(shop, order_id=order_id, email=email, amount="500.00", occurred_at=when, discount_codes=(code,))
        return order_id

    # One person's mailbox under two accounts (Gmail ignores the dots), and one account's order sent twice.
    spellings = [("C-1", "nils.berg@gmail.com"), ("C-2", "nilsberg@gmail.com"), ("C-1", "nils.berg@gmail.com")]
    assert sorted(run_together(order, spellings)) == ["C-1", "C-1", "C-2"]
    assert Referral.objects.filter(source="checkout").count() == 1
    assert FriendDiscount.objects.count() == 1
    friend = Referral.objects.get(source="checkout").friend
    assert LedgerEntry.objects.filter(member=friend, kind=EntryKind.BONUS).count() == 1
    assert_ledger_clean()
