"""Pending points: an order's points wait out the return window before they can be spent; refunds in the window
cancel them; the confirmation job makes them spendable, once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from loyalty.errors import InsufficientPoints
from loyalty.ledger import points_adjust, points_confirm, points_expire, points_redeem
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, PointsLot, TierChange
from loyalty.rewards import redemption_reserve
from loyalty.selectors import member_standing
from loyalty.tiers import pending_points_confirm
from members.models import Member
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"


@pytest.fixture
def window(programme):
    programme.pending_days = 14
    programme.save()
    return programme


def account() -> PointsAccount:
    return PointsAccount.objects.get()


def recent(order_id: str = "1001", amount: str = "1000.00", days_ago: int = 0) -> dict:
    occurred = (timezone.now() - dt.timedelta(days=days_ago)).isoformat()
    return order_payload(order_id=order_id, amount=amount) | {"occurred_at": occurred}


def assert_ledger_clean() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out, stderr=StringIO())
    assert "Ledger OK" in out.getvalue()


def test_an_orders_points_are_pending_until_its_window_passes(api, shop, tiers, window):
    reply = api.post(ORDERS, recent(days_ago=2), format="json")

    body = reply.json()
    assert reply.status_code == 201
    assert body["points_awarded"] == 1000 and body["points_pending"] == 1000
    available = dt.datetime.fromisoformat(body["available_at"])
    assert dt.timedelta(days=11, hours=23) < available - timezone.now() <= dt.timedelta(days=12)
    member = Member.objects.get()
    standing = member_standing(member=member)
    assert (standing.balance, standing.pending, standing.spendable) == (1000, 1000, 0)
    assert standing.tier_points == 1000  # counted towards tiers at once
    detail = api.get(f"/api/v1/members/{member.public_id}/").json()
    assert (detail["balance"], detail["pending"], detail["spendable"]) == (1000, 1000, 0)
    assert_ledger_clean()


def test_pending_points_cannot_be_spent(api, shop, tiers, window):
    api.post(ORDERS, recent(), format="json")
    member = Member.objects.get()

    with pytest.raises(InsufficientPoints):
        points_redeem(member=member, points=100)
    with pytest.raises(InsufficientPoints):
        redemption_reserve(shop=shop, redemption_id="c-1", member=member, points=100)
    points_adjust(member=member, points=300, staff=None, reason="goodwill")
    points_redeem(member=member, points=300)  # what is not pending can be spent

    assert (account().balance, account().pending) == (1000, 1000)
    assert_ledger_clean()


def test_an_order_older_than_the_window_is_spendable_at_once(api, shop, tiers, window):
    reply = api.post(ORDERS, recent(days_ago=20), format="json")

    assert (reply.json()["points_pending"], reply.json()["available_at"]) == (0, None)
    assert account().pending == 0


def test_without_a_window_points_are_spendable_at_once(api, shop, tiers, programme):
    reply = api.post(ORDERS, recent(), format="json")

    assert (reply.json()["points_pending"], reply.json()["available_at"]) == (0, None)
    assert not PointsLot.objects.filter(available_at__isnull=False).exists()


def test_a_refund_in_the_window_cancels_the_pending_share_and_never_goes_negative(api, shop, tiers, window):
    api.post(ORDERS, recent(), format="json")
    member = Member.objects.get()
    points_adjust(member=member, points=200, staff=None, reason="goodwill")
    points_redeem(member=member, points=200)  # the spendable points are spent; the order's are pending

    part = api.post(f"{ORDERS}1001/refunds/", {"refund_id": "R-1", "amount": "400.00"}, format="json")
    rest = api.post(f"{ORDERS}1001/refunds/", {"refund_id": "R-2", "amount": "600.00"}, format="json")

    assert part.json()["points_clawed_back"] == 400 and rest.json()["points_clawed_back"] == 600
    assert (account().balance, account().pending) == (0, 0)
    assert_ledger_clean()


def test_the_job_confirms_due_points_once_and_leaves_the_rest_pending(api, shop, tiers, window):
    api.post(ORDERS, recent("old", "300.00", days_ago=13), format="json")
    api.post(ORDERS, recent("new", "500.00", days_ago=1), format="json")
    api.post(f"{ORDERS}old/refunds/", {"refund_id": "R-1", "amount": "100.00"}, format="json")
    assert account().pending == 700

    with time_machine.travel(timezone.now() + dt.timedelta(days=1, hours=1)):
        first = points_confirm()
        again = points_confirm()

    assert (first.members, first.points) == (1, 200)
    assert (again.members, again.points) == (0, 0)
    assert (account().balance, account().pending) == (700, 500)
    assert member_standing(member=Member.objects.get()).spendable == 200
    assert_ledger_clean()


def test_the_job_works_through_many_members_in_batches(api, shop, tiers, window):
    for n in range(7):
        api.post(ORDERS, recent(f"o-{n}", "100.00") | {"member": {"email": f"m{n}@example.com"}}, format="json")

    with time_machine.travel(timezone.now() + dt.timedelta(days=15)):
        result = points_confirm(batch=3)

    assert (result.members, result.points) == (7, 700)
    assert set(PointsAccount.objects.values_list("pending", flat=True)) == {0}
    assert_ledger_clean()


def test_pending_points_do_not_expire(api, shop, tiers, window):
    window.points_expire_months = 1
    window.save()
    api.post(ORDERS, recent(), format="json")
    PointsLot.objects.update(expires_at=timezone.now() - dt.timedelta(days=1))

    result = points_expire()

    assert result.points == 0 and account().balance == 1000
    assert_ledger_clean()


def test_check_ledger_finds_pending_points_that_no_lot_holds(api, shop, tiers, window):
    api.post(ORDERS, recent(), format="json")
    PointsAccount.objects.update(pending=400)

    err = StringIO()
    with pytest.raises(Exception, match="Ledger check failed"):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    assert "400 pending, pending lots hold 1000" in err.getvalue()


def test_the_management_command_confirms_due_points(api, shop, tiers, window):
    api.post(ORDERS, recent(days_ago=15) | {"occurred_at": (timezone.now() - dt.timedelta(days=13)).isoformat()},
             format="json")  # fmt: skip
    out = StringIO()

    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        call_command("points_confirm", stdout=out)

    assert "Confirmed 1000 pending points of 1 member(s)." in out.getvalue()
    assert account().pending == 0
    assert Decimal(account().balance) == 1000


@pytest.fixture
def waiting(window):
    """The programme counts pending points towards tiers only once they are spendable."""
    window.pending_tier_points_wait = True
    window.save()
    return window


def test_where_the_programme_waits_an_order_counts_towards_tiers_once_confirmed(api, shop, tiers, waiting):
    reply = api.post(ORDERS, recent(amount="1200.00", days_ago=10), format="json")
    member = Member.objects.get()

    assert reply.json()["tier"] == "Bronze"  # 1200 would reach Silver, but not yet
    assert member_standing(member=member).tier_points == 0

    with time_machine.travel(timezone.now() + dt.timedelta(days=5)):
        call_command("points_confirm", stdout=StringIO())
        again = pending_points_confirm()

    account = PointsAccount.objects.select_related("tier").get()
    assert (account.tier.name, account.pending) == ("Silver", 0)
    assert member_standing(member=member).tier_points == 1200
    assert again.tier_members == ()  # confirmed once
    confirm = LedgerEntry.objects.get(kind=EntryKind.CONFIRM)
    assert (confirm.points, confirm.tier_points, confirm.corrects.kind) == (0, 1200, EntryKind.EARN)
    assert TierChange.objects.filter(member=member, to_tier__name="Silver").exists()
    assert_ledger_clean()


def test_where_the_programme_waits_a_refund_in_the_window_takes_tier_points_from_what_waits(api, shop, tiers, waiting):
    api.post(ORDERS, recent(amount="1200.00", days_ago=10), format="json")
    api.post(ORDERS, recent("old", "300.00", days_ago=40), format="json")  # counted long ago: 300 tier points

    api.post(f"{ORDERS}1001/refunds/", {"refund_id": "R-1", "amount": "400.00"}, format="json")

    member = Member.objects.get()
    assert member_standing(member=member).tier_points == 300  # nothing taken from the counted order
    with time_machine.travel(timezone.now() + dt.timedelta(days=5)):
        pending_points_confirm()
    assert member_standing(member=member).tier_points == 300 + 800
    assert_ledger_clean()


def test_where_the_programme_does_not_wait_pending_points_count_towards_tiers_at_once(api, shop, tiers, window):
    reply = api.post(ORDERS, recent(amount="1200.00"), format="json")

    assert reply.json()["tier"] == "Silver" and reply.json()["points_pending"] == 1200
