"""The member's overview answers at a glance: what do I have, what do I get next, how do I redeem."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from loyalty.models import Programme, Reward
from loyalty.rewards.catalogue import reward_redeem, voucher_use
from members.models import Member
from tests.conftest import make_order

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_invited_to_log_in(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b'href="/accounts/login/"' in response.content


def test_member_sees_balance_tier_and_progress(client, shop, tiers, programme):
    make_order(shop, order_id="1", amount="3750.00")
    member = Member.objects.get()
    client.force_login(member.user)
    response = client.get("/")
    html = response.content.decode()
    assert "3,750" in html or "3750" in html
    assert "Silver" in html
    assert 'role="progressbar"' in html
    assert 'aria-valuenow="68"' in html
    assert "1,250 points to Gold" in html or "1250 points to Gold" in html
    assert "Order 1 at Nordlys Sport" in html


def test_the_tier_badge_has_the_tiers_colour_and_its_benefits_are_listed(client, shop, tiers, programme):
    tiers[1].benefits = "25% extra points on every order\nFree returns"
    tiers[1].save()
    make_order(shop, order_id="1", amount="1200.00")
    client.force_login(Member.objects.get().user)
    html = client.get("/").content.decode()
    assert 'data-testid="tier" style="--tier-colour: #6e7781">Silver</span>' in html
    assert "<li>25% extra points on every order</li><li>Free returns</li>" in html


def test_the_level_is_explained_as_earned_points_that_spending_does_not_lower(client, shop, tiers, programme):
    programme.tier_window_months = 12
    programme.save()
    make_order(shop, order_id="1", amount="1500.00")
    member = Member.objects.get()
    reward_redeem(member=member, reward=Reward.objects.create(name="Mug", points_cost=1000))
    client.force_login(member.user)
    html = client.get("/").content.decode()
    assert 'data-testid="balance">500<' in html
    assert "3,500 points to Gold" in html  # the level still counts the 1,500 earned
    assert "Your level counts the points you earned in the last 12 months: 1,500." in html


def test_unused_vouchers_are_on_the_overview_with_their_codes(client, shop, tiers, programme):
    make_order(shop, order_id="1", amount="2000.00")
    member = Member.objects.get()
    mug = Reward.objects.create(name="Coffee mug", points_cost=100)
    used = reward_redeem(member=member, reward=mug)
    voucher_use(shop=shop, code=used.code, order_id="2")
    ready = reward_redeem(member=member, reward=mug)
    client.force_login(member.user)
    html = client.get("/").content.decode()
    assert "Your vouchers, ready to use" in html
    assert f'href="{reverse("portal:voucher", args=[ready.code])}">Coffee mug</a> <code>{ready.code}</code>' in html
    assert used.code not in html


def test_no_voucher_section_without_unused_vouchers(client, member):
    client.force_login(member.user)
    assert "Your vouchers, ready to use" not in client.get("/").content.decode()


def test_the_overview_says_which_points_expire_next(client, shop, tiers):
    programme = Programme.load()
    programme.points_expire_months = 12
    programme.save()
    start = timezone.now()
    make_order(shop, order_id="1", amount="300.00", occurred_at=start - dt.timedelta(days=40))
    make_order(shop, order_id="2", amount="200.00", occurred_at=start - dt.timedelta(days=10))
    client.force_login(Member.objects.get().user)
    html = client.get("/").content.decode()
    expiry = html[html.index('data-testid="expiry"') :]
    assert expiry.startswith('data-testid="expiry">300 points expire on ')  # the oldest lot first, not all 500
    with time_machine.travel(start + dt.timedelta(days=800)):
        assert 'data-testid="expiry"' not in client.get("/").content.decode()  # past due: the job's business
