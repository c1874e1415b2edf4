"""Concurrent redemptions, uses and cancellations serialise correctly on PostgreSQL.

Threads with their own connections are released together by a barrier (``run_together``) so they race
for the member's account row and the reward row. No balance goes below zero, no stock is oversold,
no voucher is used twice or refunded twice, and ``check_ledger`` stays clean.
"""

from __future__ import annotations

from collections import Counter

import pytest

from loyalty.errors import LoyaltyError
from loyalty.ledger import points_adjust
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, Reward, Voucher, VoucherStatus
from loyalty.rewards.catalogue import reward_redeem, voucher_cancel, voucher_use
from members.models import Member
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import assert_entries_chain, assert_ledger_clean, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def give(member: Member, points: int) -> None:
    points_adjust(member=member, points=points, staff=None, reason="test setup")


def attempt(member: Member, reward: Reward) -> str:
    """Redeem and say how it went: ``"ok"`` or the refusal's code."""
    try:
        reward_redeem(member=member, reward=reward)
    except LoyaltyError as refused:
        return refused.code
    return "ok"


def test_ten_clicks_with_points_for_three_issue_exactly_three_vouchers(tiers, member):
    give(member, 300)
    reward = Reward.objects.create(name="Coffee", points_cost=100)

    outcomes = run_together(lambda _n: attempt(member, reward), range(10))

    assert Counter(outcomes) == {"ok": 3, "insufficient_points": 7}
    assert Voucher.objects.filter(member=member).count() == 3
    assert PointsAccount.objects.get(member=member).balance == 0
    history = assert_entries_chain(member)
    assert min(history) >= 0
    assert LedgerEntry.objects.filter(member=member, kind=EntryKind.REDEEM).count() == 3
    assert_ledger_clean()


def test_twenty_members_racing_for_five_in_stock_get_exactly_five(tiers):
    members = [MemberFactory() for _ in range(20)]
    for each in members:
        give(each, 100)
    reward = Reward.objects.create(name="Jacket", points_cost=100, stock=5)

    outcomes = run_together(lambda each: attempt(each, reward), members)

    assert Counter(outcomes) == {"ok": 5, "reward_out_of_stock": 15}
    reward.refresh_from_db()
    assert reward.stock == 0
    assert Voucher.objects.filter(reward=reward).count() == 5
    assert (
        sorted(PointsAccount.objects.filter(member__in=members).values_list("balance", flat=True))
        == [0] * 5 + [100] * 15
    )
    assert_ledger_clean()


def test_a_voucher_raced_onto_ten_orders_is_used_once(tiers, member, shop):
    give(member, 100)
    voucher = reward_redeem(member=member, reward=Reward.objects.create(name="Coffee", points_cost=100))

    def use(n: int) -> str:
        try:
            voucher_use(shop=shop, code=voucher.code, order_id=f"W-{n}")
        except LoyaltyError as refused:
            return refused.code
        return "ok"

    outcomes = run_together(use, range(10))

    assert Counter(outcomes) == {"ok": 1, "voucher_already_used": 9}
    assert Voucher.objects.get().status == VoucherStatus.USED
    assert_ledger_clean()


def test_racing_cancellations_return_points_and_stock_once(tiers, member, admin_user):
    give(member, 100)
    reward = Reward.objects.create(name="Coffee", points_cost=100, stock=3)
    voucher = reward_redeem(member=member, reward=reward)

    results = run_together(lambda _n: voucher_cancel(voucher=voucher, staff=admin_user)[1], range(8))

    assert results.count(True) == 1
    assert PointsAccount.objects.get(member=member).balance == 100
    reward.refresh_from_db()
    assert reward.stock == 3
    assert LedgerEntry.objects.filter(corrects=voucher.redeem_entry).count() == 1
    assert_entries_chain(member)
    assert_ledger_clean()


def test_a_redeem_form_submitted_ten_times_at_once_issues_one_voucher(tiers, member):
    """Ten copies of one confirmation form (a nervous double-click, a resent request) through the portal."""
    from django.test import Client
    from django.urls import reverse

    give(member, 1000)
    reward = Reward.objects.create(name="Coffee", points_cost=100, stock=50)
    url = reverse("portal:reward", args=[reward.pk])

    def click(_n: int) -> int:
        browser = Client()
        browser.force_login(member.user)
        return browser.post(url, {"request_key": "one-confirmation-form"}).status_code

    assert run_together(click, range(10)) == [302] * 10
    assert Voucher.objects.count() == 1
    assert PointsAccount.objects.get(member=member).balance == 900
    assert Reward.objects.get(pk=reward.pk).stock == 49
    assert_ledger_clean()
