"""Checkout redemptions under concurrency, on PostgreSQL: reserve, capture, release, expiry and codes on orders.

Real threads with their own connections are released together by a barrier (``run_together``) so they race
for the member's ``PointsAccount`` row and the ``Redemption`` row. Reservations never take the balance below
zero, a redemption id is honoured once, and a reservation ends exactly one way, captured (its points stay
spent) or released (its points come back, once), whoever races for it: the shop's capture, its release, the
expiry job or an order carrying the code. Every test checks balances, rows and entries, not only the
answers, and ends with ``check_ledger``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.ledger import lot_mismatches, points_adjust
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, Redemption, RedemptionStatus
from loyalty.rewards.checkout import redemption_release, redemption_reserve, redemptions_expire
from loyalty.shops import api_key_create, shop_customer_link
from members.models import Member
from tests.conftest import order_payload
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import Reply, assert_entries_chain, assert_ledger_clean, poster, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDEMPTIONS = "/api/v1/redemptions/"
ORDERS = "/api/v1/orders/"
EMAIL = "kari@example.com"


@pytest.fixture
def raw_key(shop):
    _key, raw = api_key_create(shop=shop)
    return raw


@pytest.fixture
def kari(member, shop, programme):
    """Kari, the shop's customer, with 1000 points; the programme's defaults: spend at least 100 points, in steps
    of 100."""
    shop_customer_link(shop=shop, member=member)  # the shop reads her standing
    assert (programme.redeem_min_points, programme.redeem_step_points) == (100, 100)
    points_adjust(member=member, points=1000, staff=None, reason="test setup")
    return member


def balance(member: Member) -> int:
    return PointsAccount.objects.get(member=member).balance


def reservation(redemption_id: str, points: int = 100) -> dict[str, Any]:
    return {"redemption_id": redemption_id, "member": {"email": EMAIL}, "points": points}


def call(raw_key: str):
    """A thread's request ``(path, payload)`` through the shop API, with its own client (``poster``)."""

    def send(job: tuple[str, dict[str, Any]]) -> Reply:
        path, payload = job
        return poster(raw_key, path)(payload)

    return send


def api_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def returns_of(redemption: Redemption) -> int:
    """How many ``return`` entries gave back (some of) this reservation's hold."""
    return LedgerEntry.objects.filter(kind=EntryKind.RETURN, corrects=redemption.hold_entry_id).count()


def assert_all_clean(member: Member) -> list[int]:
    """The entries chain, never below zero, ``check_ledger`` and the lots agree. Returns the balance history."""
    history = assert_entries_chain(member)
    assert min(history) >= 0
    assert not LedgerEntry.objects.filter(member=member, balance_after__lt=0).exists()
    assert_ledger_clean()
    assert lot_mismatches() == []
    return history


def test_twenty_reservations_for_points_for_ten_reserve_exactly_ten(shop, kari, raw_key):
    replies = run_together(poster(raw_key, REDEMPTIONS), [reservation(f"chk-{n}") for n in range(20)])

    assert Counter(r.status for r in replies) == {201: 10, 422: 10}, [r.body for r in replies]
    refused = [r.body for r in replies if r.status == 422]
    assert {(body["code"], body["field"]) for body in refused} == {("insufficient_points", "points")}
    reserved = [r.body for r in replies if r.status == 201]
    assert all(body["status"] == "reserved" and body["points"] == 100 for body in reserved)
    assert len({body["code"] for body in reserved}) == 10
    # Exactly the answered reservations exist, each with its own hold; the refused ones left nothing behind.
    redemptions = Redemption.objects.filter(member=kari)
    assert sorted(redemptions.values_list("external_id", flat=True)) == sorted(b["redemption_id"] for b in reserved)
    assert set(redemptions.values_list("status", flat=True)) == {RedemptionStatus.RESERVED}
    holds = LedgerEntry.objects.filter(member=kari, kind=EntryKind.REDEEM).order_by("id")
    assert [e.balance_after for e in holds] == list(range(900, -1, -100))
    assert set(redemptions.values_list("hold_entry_id", flat=True)) == {e.pk for e in holds}
    assert balance(kari) == 0
    member = api_client(raw_key).get(f"/api/v1/members/{kari.public_id}/").json()
    assert (member["balance"], member["spendable"], member["reserved"]) == (0, 0, 1000)
    history = assert_all_clean(kari)
    assert history == [1000, *range(900, -1, -100)]


def test_one_redemption_id_sent_ten_times_at_once_reserves_once(shop, kari, raw_key):
    replies = run_together(poster(raw_key, REDEMPTIONS), [reservation("chk-same", points=500)] * 10)

    assert sorted(r.status for r in replies) == [200] * 9 + [201], [r.body for r in replies]
    first = next(r.body for r in replies if r.status == 201)
    assert all(r.body == first for r in replies)
    redemption = Redemption.objects.get(shop=shop, external_id="chk-same")
    assert Redemption.objects.count() == 1
    assert (redemption.code, redemption.points, redemption.status) == (first["code"], 500, RedemptionStatus.RESERVED)
    assert LedgerEntry.objects.filter(member=kari, kind=EntryKind.REDEEM).count() == 1
    assert balance(kari) == 500
    assert assert_all_clean(kari) == [1000, 500]


def test_one_redemption_id_raced_with_other_points_has_one_winner(shop, kari, raw_key):
    asked = [500, 300] * 5
    replies = run_together(poster(raw_key, REDEMPTIONS), [reservation("chk-race", points=p) for p in asked])

    assert [r.status for r in replies].count(201) == 1, [r.body for r in replies]
    winner = next(r.body for r in replies if r.status == 201)
    redemption = Redemption.objects.get()
    assert redemption.points == winner["points"]
    for points, reply in zip(asked, replies, strict=True):
        if points == redemption.points:
            assert reply.status in (200, 201) and reply.body == winner
        else:
            assert reply.status == 409, reply.body
            assert (reply.body["code"], reply.body["field"]) == ("idempotency_conflict", "redemption_id")
    assert LedgerEntry.objects.filter(member=kari, kind=EntryKind.REDEEM).count() == 1
    assert balance(kari) == 1000 - redemption.points
    assert_all_clean(kari)


def test_capture_and_release_racing_on_a_reservation_end_it_one_way(shop, kari, raw_key):
    expected = 1000
    for n in range(10):
        rid = f"chk-{n}"
        redemption_reserve(shop=shop, redemption_id=rid, member=kari, points=100)
        expected -= 100
        assert balance(kari) == expected

        capture, release = run_together(
            call(raw_key),
            [(f"{REDEMPTIONS}{rid}/capture/", {"order_id": f"order-{n}"}), (f"{REDEMPTIONS}{rid}/release/", {})],
        )

        redemption = Redemption.objects.get(shop=shop, external_id=rid)
        assert sorted([capture.status, release.status]) == [200, 409], (capture.body, release.body)
        if capture.status == 200:
            assert release.body["code"] == "redemption_captured"
            assert capture.body["status"] == "captured" and capture.body["order_id"] == f"order-{n}"
            assert (redemption.status, redemption.order_id) == (RedemptionStatus.CAPTURED, f"order-{n}")
            assert (redemption.released_at, redemption.points_returned, returns_of(redemption)) == (None, 0, 0)
        else:
            assert capture.body["code"] == "redemption_released"
            assert release.body["status"] == "released"
            assert (redemption.status, redemption.order_id) == (RedemptionStatus.RELEASED, "")
            assert (redemption.captured_at, redemption.points_returned, returns_of(redemption)) == (None, 100, 1)
            expected += 100  # the points came back, once
        assert balance(kari) == expected

    captured = Redemption.objects.filter(status=RedemptionStatus.CAPTURED).count()
    assert balance(kari) == 1000 - 100 * captured == expected
    assert LedgerEntry.objects.filter(member=kari, kind=EntryKind.RETURN).count() == 10 - captured
    assert_all_clean(kari)


def test_many_captures_for_other_orders_and_releases_racing_leave_one_outcome(shop, kari, raw_key):
    expected = 1000
    for n in range(5):
        rid = f"chk-{n}"
        redemption_reserve(shop=shop, redemption_id=rid, member=kari, points=200)
        expected -= 200
        captures = [(f"{REDEMPTIONS}{rid}/capture/", {"order_id": f"order-{n}-{k}"}) for k in range(4)]
        releases = [(f"{REDEMPTIONS}{rid}/release/", {})] * 4

        replies = run_together(call(raw_key), captures + releases)

        capture_replies, release_replies = replies[:4], replies[4:]
        redemption = Redemption.objects.get(shop=shop, external_id=rid)
        if redemption.status == RedemptionStatus.CAPTURED:
            won = [r for r in capture_replies if r.status == 200]
            assert len(won) == 1, [r.body for r in replies]
            assert won[0].body["order_id"] == redemption.order_id
            losers = [r for r in capture_replies if r.status != 200] + release_replies
            assert {(r.status, r.body["code"]) for r in losers} == {(409, "redemption_captured")}
            assert (redemption.points_returned, returns_of(redemption)) == (0, 0)
        else:
            assert redemption.status == RedemptionStatus.RELEASED
            assert {(r.status, r.body["code"]) for r in capture_replies} == {(409, "redemption_released")}
            # Releasing again answers the same: all four say released, and the points came back once.
            assert {r.status for r in release_replies} == {200}
            assert all(r.body == release_replies[0].body for r in release_replies)
            assert release_replies[0].body["status"] == "released"
            assert (redemption.points_returned, returns_of(redemption)) == (200, 1)
            expected += 200
        assert balance(kari) == expected

    assert_all_clean(kari)


def test_the_expiry_job_racing_a_capture_on_an_expired_reservation_ends_it_one_way(shop, kari, raw_key):
    send = call(raw_key)

    def work(job: tuple[str, int]) -> Any:
        what, n = job
        if what == "expire":
            return redemptions_expire()
        return send((f"{REDEMPTIONS}chk-{n}/capture/", {"order_id": f"order-{n}"}))

    expected = 1000
    for n in range(10):
        rid = f"chk-{n}"
        redemption_reserve(shop=shop, redemption_id=rid, member=kari, points=100)
        expected -= 100
        # Past its time, not released yet: a capture may still take it, unless the job gets there first.
        Redemption.objects.filter(external_id=rid).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

        released, captured = run_together(work, [("expire", n), ("capture", n)])

        redemption = Redemption.objects.get(shop=shop, external_id=rid)
        if released:
            assert released == 1
            assert captured.status == 409 and captured.body["code"] == "redemption_released", captured.body
            assert (redemption.status, redemption.points_returned, returns_of(redemption)) == ("released", 100, 1)
            expected += 100
        else:
            assert captured.status == 200 and captured.body["status"] == "captured", captured.body
            assert (redemption.status, redemption.order_id) == (RedemptionStatus.CAPTURED, f"order-{n}")
            assert (redemption.points_returned, returns_of(redemption)) == (0, 0)
        assert balance(kari) == expected
        assert redemptions_expire() == 0  # nothing is left to release

    assert_all_clean(kari)


def test_expiry_jobs_racing_each_other_and_releases_give_every_point_back_once(shop, kari, raw_key):
    for n in range(10):
        redemption_reserve(shop=shop, redemption_id=f"chk-{n}", member=kari, points=100)
    assert balance(kari) == 0
    Redemption.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    def work(job: str) -> int:
        if job == "expire":
            return redemptions_expire(batch=4)
        return int(redemption_release(shop=shop, redemption_id=job).created)

    jobs = ["expire"] * 3 + [f"chk-{n}" for n in range(0, 10, 2)]
    results = run_together(work, jobs)

    left = Redemption.objects.filter(status=RedemptionStatus.RESERVED).count()
    assert sum(results) == 10 - left  # each released by exactly one of them
    redemptions_expire()
    assert set(Redemption.objects.values_list("status", flat=True)) == {RedemptionStatus.RELEASED}
    assert all(returns_of(r) == 1 for r in Redemption.objects.all())
    assert LedgerEntry.objects.filter(member=kari, kind=EntryKind.RETURN).count() == 10
    assert balance(kari) == 1000
    assert_all_clean(kari)


def test_reservations_racing_a_release_never_spend_points_not_yet_back(shop, kari, raw_key):
    redemption_reserve(shop=shop, redemption_id="big", member=kari, points=500)
    jobs = [(f"{REDEMPTIONS}big/release/", {})] + [(REDEMPTIONS, reservation(f"chk-{n}")) for n in range(10)]

    release, *reserves = run_together(call(raw_key), jobs)

    assert release.status == 200 and release.body["status"] == "released"
    won = [r for r in reserves if r.status == 201]
    assert {(r.status, r.body["code"]) for r in reserves if r.status != 201} <= {(422, "insufficient_points")}
    assert 5 <= len(won) <= 10
    assert Redemption.objects.filter(status=RedemptionStatus.RESERVED).count() == len(won)
    assert balance(kari) == 1000 - 100 * len(won)
    assert_all_clean(kari)


def test_an_order_carrying_the_code_racing_a_capture_and_a_release_ends_it_one_way(shop, tiers, kari, raw_key):
    expected = 1000
    for n in range(8):
        rid = f"chk-{n}"
        code = redemption_reserve(shop=shop, redemption_id=rid, member=kari, points=100).redemption.code
        expected -= 100
        jobs = [
            (ORDERS, order_payload(order_id=f"web-{n}", amount="100.00", discount_codes=["SUMMER10", code.lower()])),
            (f"{REDEMPTIONS}{rid}/capture/", {"order_id": f"api-{n}"}),
            (f"{REDEMPTIONS}{rid}/release/", {}),
        ]

        order, capture, release = run_together(call(raw_key), jobs)

        assert order.status == 201, order.body  # a code that can no longer be used never fails the order
        expected += order.body["points_awarded"]
        redemption = Redemption.objects.get(shop=shop, external_id=rid)
        if redemption.status == RedemptionStatus.RELEASED:
            assert release.status == 200 and release.body["status"] == "released"
            assert capture.status == 409 and capture.body["code"] == "redemption_released"
            assert (redemption.order_id, redemption.points_returned, returns_of(redemption)) == ("", 100, 1)
            expected += 100
        else:
            assert redemption.status == RedemptionStatus.CAPTURED
            assert release.status == 409 and release.body["code"] == "redemption_captured"
            assert (redemption.points_returned, returns_of(redemption)) == (0, 0)
            if redemption.order_id == f"api-{n}":
                assert capture.status == 200 and capture.body["order_id"] == f"api-{n}"
            else:
                assert redemption.order_id == f"web-{n}"
                assert capture.status == 409 and capture.body["code"] == "redemption_captured"
        assert balance(kari) == expected

    assert_all_clean(kari)


def test_ten_orders_carrying_one_code_capture_it_once(shop, tiers, kari, raw_key):
    code = redemption_reserve(shop=shop, redemption_id="chk-1", member=kari, points=300).redemption.code
    payloads = [order_payload(order_id=f"web-{n}", amount="100.00", discount_codes=[code]) for n in range(10)]

    replies = run_together(poster(raw_key, ORDERS), payloads)

    assert [r.status for r in replies] == [201] * 10, [r.body for r in replies]
    redemption = Redemption.objects.get()
    assert redemption.status == RedemptionStatus.CAPTURED
    assert redemption.order_id in {f"web-{n}" for n in range(10)}
    assert (redemption.points_returned, returns_of(redemption)) == (0, 0)
    assert balance(kari) == 1000 - 300 + sum(r.body["points_awarded"] for r in replies)
    assert_all_clean(kari)


def test_refunds_of_orders_paid_with_each_others_codes_do_not_deadlock(shop, tiers, kari, raw_key):
    """Kari's order paid with Ola's code and Ola's with Kari's: refunding both at once locks both accounts in
    the same order, so neither waits for the other (PostgreSQL would kill one with a deadlock: a 500)."""
    ola = Member.objects.get(user__email=MemberFactory(user__email="ola@example.com").user.email)
    points_adjust(member=ola, points=1000, staff=None, reason="test setup")
    for n in range(5):
        kari_code = redemption_reserve(shop=shop, redemption_id=f"k-{n}", member=kari, points=100).redemption.code
        ola_code = redemption_reserve(shop=shop, redemption_id=f"o-{n}", member=ola, points=100).redemption.code
        poster(raw_key, ORDERS)(order_payload(order_id=f"kari-{n}", amount="100.00", discount_codes=[ola_code]))
        poster(raw_key, ORDERS)(
            order_payload(order_id=f"ola-{n}", email="ola@example.com", amount="100.00", discount_codes=[kari_code])
        )
        jobs = [
            (f"{ORDERS}kari-{n}/refunds/", {"refund_id": f"rk-{n}", "amount": "100.00"}),
            (f"{ORDERS}ola-{n}/refunds/", {"refund_id": f"ro-{n}", "amount": "100.00"}),
        ]

        replies = run_together(call(raw_key), jobs)

        assert [r.status for r in replies] == [201, 201], [r.body for r in replies]
        assert [r.body["points_returned"] for r in replies] == [100, 100]
    assert (balance(kari), balance(ola)) == (1000, 1000)  # each order's points clawed back, each code's returned
    assert_all_clean(kari)
