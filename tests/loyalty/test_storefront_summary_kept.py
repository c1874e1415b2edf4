"""The widget's member summary is kept in the cache under the state it is made from: a kept summary costs one
query (the member's state), and after anything that changes what it shows, the next answer
is the fresh one, never the kept one. Each test keeps a summary first, then changes one thing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from loyalty.embed import summary as summary_module
from loyalty.ledger import points_adjust, points_expire
from loyalty.models import Reward, Tier
from loyalty.orders import refund_record
from loyalty.rewards import redemption_capture, redemption_release, redemption_reserve, reward_redeem, voucher_cancel
from loyalty.shops.storefront import storefront_create, storefront_token_issue
from loyalty.tiers import pending_points_confirm, tier_review
from members.services import member_language_set
from tests.conftest import make_order
from tests.loyalty.test_storefront import as_member, embed, token_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def storefront(shop):
    return storefront_create(shop=shop).storefront


@pytest.fixture
def kari(shop, tiers, programme):
    """Kari, Silver with 1200 points, known to the shop as customer 7001."""
    make_order(shop, order_id="K-1", amount="1200.00", email="kari@example.com", first_name="Kari", external_id="7001")
    return get_user_model().objects.get(email="kari@example.com").member


@pytest.fixture
def me(client, storefront, kari):
    """A function that asks for Kari's summary (in ``lang``, if given) and returns its data, with a token given
    then (the session endpoint's: tests travel in time beyond a token's life)."""

    def ask(lang: str = "") -> dict:
        token = storefront_token_issue(storefront=storefront, member=kari)
        response = client.get(embed(storefront, "me/") + (f"?lang={lang}" if lang else ""), **as_member(token))
        assert response.status_code == 200, response.content
        return response.json()

    return ask


def test_a_kept_summary_costs_one_query_for_the_members_state(me, django_assert_num_queries):
    first = me()
    assert me() == first  # the first may not be kept: it made the referral programme's settings, a change

    with django_assert_num_queries(1):  # the storefront is kept per process, as the API keys are
        again = me()

    assert again == first


def test_a_kept_summary_is_the_same_as_a_composed_one(me, monkeypatch):
    kept = me()
    monkeypatch.setattr(summary_module, "SUMMARY_SECONDS", 0)  # nothing kept from here on
    summary_module.cache.clear()

    assert me() == kept


def test_after_an_order_the_new_balance(me, shop):
    assert me()["points"]["balance"] == 1200

    make_order(shop, order_id="K-2", amount="300.00", email="kari@example.com")

    assert me()["points"]["balance"] == 1575  # 300 at Silver


def test_after_a_refund_the_points_clawed_back(me, shop):
    assert me()["points"]["balance"] == 1200

    refund_record(shop=shop, order_id="K-1", refund_id="R-1", amount=Decimal("200.00"))

    assert me()["points"]["balance"] == 1000


def test_after_a_checkout_reservation_the_points_held(me, shop, kari):
    assert me()["points"]["reserved"] == 0

    redemption_reserve(shop=shop, redemption_id="c-1", member=kari, points=500)

    points = me()["points"]
    assert (points["balance"], points["reserved"]) == (700, 500)


def test_after_a_hold_is_released_the_points_are_back(me, shop, kari):
    redemption_reserve(shop=shop, redemption_id="c-1", member=kari, points=500)
    assert me()["points"]["reserved"] == 500

    redemption_release(shop=shop, redemption_id="c-1")

    points = me()["points"]
    assert (points["balance"], points["reserved"]) == (1200, 0)


def test_after_a_hold_is_captured_it_is_no_longer_reserved(me, shop, kari):
    # Capturing writes neither the account nor the ledger: only the redemption's status moves.
    redemption_reserve(shop=shop, redemption_id="c-1", member=kari, points=500)
    assert me()["points"]["reserved"] == 500

    redemption_capture(shop=shop, redemption_id="c-1", order_id="K-9")

    points = me()["points"]
    assert (points["balance"], points["reserved"]) == (700, 0)


def test_after_points_expire_they_are_gone(me, shop, programme):
    programme.points_expire_months = 12
    programme.save()
    make_order(shop, order_id="K-2", amount="300.00", email="kari@example.com")  # expires in 12 months
    with time_machine.travel(timezone.now() + dt.timedelta(days=400), tick=False):
        assert me()["points"]["balance"] == 1575

        points_expire()

        assert me()["points"]["balance"] == 1200


def test_after_pending_points_are_confirmed_they_are_spendable(me, shop, programme):
    programme.pending_days = 14
    programme.save()
    make_order(shop, order_id="K-2", amount="300.00", email="kari@example.com")
    with time_machine.travel(timezone.now() + dt.timedelta(days=15), tick=False):
        points = me()["points"]
        assert (points["pending"], points["spendable"]) == (375, 1200)  # 300 at Silver

        pending_points_confirm()

        data = me()
        assert (data["points"]["pending"], data["points"]["spendable"]) == (0, 1575)
        assert data["pending"] == []


def test_after_the_tier_review_the_new_tier(me, programme):
    # The review moves the tier without a ledger entry or a balance change.
    programme.tier_window_months, programme.tier_grace_days = 12, 0
    programme.save()
    with time_machine.travel(timezone.now() + dt.timedelta(days=400), tick=False):
        assert me()["tier"]["name"] == "Silver"

        tier_review()  # first seen below its tier
        assert me()["tier"]["name"] == "Silver"
        tier_review()  # and no grace period

        assert me()["tier"]["name"] == "Bronze"


def test_as_points_leave_the_tier_window_the_progress_shrinks(me, shop, programme):
    # Nothing is written: time alone takes an order's points out of the window, seconds after a summary was kept.
    programme.tier_window_months = 12
    programme.save()
    leaves = timezone.now() + dt.timedelta(seconds=3)
    make_order(shop, order_id="K-2", amount="300.00", email="kari@example.com",
               occurred_at=leaves - relativedelta(months=12))  # fmt: skip
    assert me()["next_tier"]["points_to_go"] == 3500  # Gold at 5000; 1200 and 300 in the window

    with time_machine.travel(leaves + dt.timedelta(seconds=1), tick=False):
        assert me()["next_tier"]["points_to_go"] == 3800


def test_after_a_staff_adjustment_the_new_balance(me, kari):
    assert me()["points"]["balance"] == 1200

    points_adjust(member=kari, points=-150, staff=None, reason="Goodwill taken back")

    assert me()["points"]["balance"] == 1050


def test_after_a_reward_redemption_and_its_cancellation(me, kari, admin_user):
    reward = Reward.objects.create(name="Mug", points_cost=100, limit_per_member=1)
    assert me()["rewards"]["affordable"] == [{"name": "Mug", "points_cost": 100}]

    voucher = reward_redeem(member=kari, reward=reward)
    assert me()["rewards"]["affordable"] == []  # its limit reached

    voucher_cancel(voucher=voucher, staff=admin_user)
    assert me()["rewards"]["affordable"] == [{"name": "Mug", "points_cost": 100}]


def test_after_another_member_takes_the_last_of_a_reward_it_is_gone(me, shop):
    reward = Reward.objects.create(name="Mug", points_cost=100, stock=1)
    assert me()["rewards"]["affordable"] == [{"name": "Mug", "points_cost": 100}]

    make_order(shop, order_id="O-1", amount="500.00", email="ola@example.com")
    reward_redeem(member=get_user_model().objects.get(email="ola@example.com").member, reward=reward)

    assert me()["rewards"]["affordable"] == []


def test_after_staff_change_a_reward_or_a_tier(me):
    Reward.objects.create(name="Mug", points_cost=100)
    assert me()["rewards"]["affordable"] == [{"name": "Mug", "points_cost": 100}]

    Reward.objects.get(name="Mug").delete()
    reward = Reward.objects.create(name="Bottle", points_cost=200)
    assert me()["rewards"]["affordable"] == [{"name": "Bottle", "points_cost": 200}]

    reward.points_cost = 250
    reward.save()
    assert me()["rewards"]["affordable"] == [{"name": "Bottle", "points_cost": 250}]

    silver = Tier.objects.get(name="Silver")
    silver.name = "Sølv"
    silver.save()
    assert me()["tier"]["name"] == "Sølv"


def test_when_a_rewards_window_opens_it_is_on_offer(me):
    opens = timezone.now() + dt.timedelta(seconds=5)
    Reward.objects.create(name="Mug", points_cost=100, active_from=opens)
    assert me()["rewards"]["affordable"] == []

    with time_machine.travel(opens + dt.timedelta(seconds=1), tick=False):
        assert me()["rewards"]["affordable"] == [{"name": "Mug", "points_cost": 100}]


def test_in_another_language_or_after_the_member_changes_theirs(me, kari):
    silver = Tier.objects.get(name="Silver")
    silver.name_nb = "Sølv"
    silver.save()
    assert me("en")["tier"]["name"] == "Silver"

    assert me("nb")["tier"]["name"] == "Sølv"

    assert me()["member"]["language"] != "sv"
    member_language_set(member=kari, language="sv")
    assert me()["member"]["language"] == "sv"


def test_a_member_switched_off_since_their_summary_was_kept_reads_nothing(client, storefront, kari, me):
    token = token_for(client, storefront)
    me()
    kari.user.is_active = False
    kari.user.save()

    response = Client().get(embed(storefront, "me/"), **as_member(token))

    assert response.status_code == 401


def test_a_summary_composed_while_the_member_changes_is_not_kept_under_the_state_before(me, kari, monkeypatch):
    # The member's language changes between the state read and the composing: the summary composed shows the
    # new one, so keeping it under the old state's key would show it again once the member changes back.
    compose, language = summary_module._member_summary, kari.language

    def compose_after_a_change(**kwargs):
        member_language_set(member=kari, language="sv")
        kwargs["member"].refresh_from_db()
        return compose(**kwargs)

    monkeypatch.setattr(summary_module, "_member_summary", compose_after_a_change)
    assert me()["member"]["language"] == "sv"
    monkeypatch.setattr(summary_module, "_member_summary", compose)

    member_language_set(member=kari, language=language)  # back to the state the first request read

    assert me()["member"]["language"] == language
