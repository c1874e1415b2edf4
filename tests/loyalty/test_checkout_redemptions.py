"""Points spent at a shop's checkout: ``/api/v1/redemptions/``, codes on orders, refunds and the expiry job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from loyalty.ledger import ledger_mismatches, lot_mismatches, points_adjust
from loyalty.models import (
    EntryKind,
    LedgerEntry,
    PointsAccount,
    PointsLot,
    Redemption,
    RedemptionStatus,
    Reward,
    Voucher,
    VoucherStatus,
)
from loyalty.rewards import checkout_terms, redemptions_expire, reward_redeem
from loyalty.shops import shop_customer_link
from loyalty.tasks import redemptions_expire_task
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db

REDEMPTIONS = "/api/v1/redemptions/"


@pytest.fixture
def kari(member, shop, programme):
    """Kari, the shop's customer, with 1000 points; 100 points pay 10.00 NOK (0.10 each), spent from 100 in steps
    of 50."""
    shop_customer_link(shop=shop, member=member)  # the shop reads her standing
    programme.point_value = Decimal("0.10")
    programme.redeem_min_points = 100
    programme.redeem_step_points = 50
    programme.save()
    points_adjust(member=member, points=1000, staff=None, reason="test setup")
    return member


def balance(member) -> int:
    return PointsAccount.objects.get(member=member).balance


def reserve(api, redemption_id: str = "chk-1", **body):
    return api.post(
        REDEMPTIONS,
        {"redemption_id": redemption_id, "member": {"email": "kari@example.com"}, **(body or {"points": 500})},
        format="json",
    )


def assert_ledger_clean() -> None:
    assert ledger_mismatches() == [] and lot_mismatches() == []
    out = StringIO()
    call_command("check_ledger", stdout=out, stderr=StringIO())
    assert "Ledger OK" in out.getvalue()


def test_reserving_takes_the_points_off_at_once_and_answers_a_single_use_code(api, shop, kari):
    reply = reserve(api, points=500)

    assert reply.status_code == 201, reply.json()
    body = reply.json()
    assert body["redemption_id"] == "chk-1"
    assert body["points"] == 500 and body["amount"] == "50.00" and body["currency"] == "NOK"
    assert body["status"] == "reserved" and body["order_id"] is None
    assert body["code"].startswith("KP") and len(body["code"]) == 14
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert dt.timedelta(minutes=29) < expires - timezone.now() <= dt.timedelta(minutes=30)
    assert balance(kari) == 500
    hold = LedgerEntry.objects.get(member=kari, kind=EntryKind.REDEEM)
    assert hold.points == -500 and hold.redemption.code == body["code"]
    member = api.get(f"/api/v1/members/{kari.public_id}/").json()
    assert (member["balance"], member["spendable"], member["reserved"], member["pending"]) == (500, 500, 500, 0)
    assert_ledger_clean()


def test_codes_differ_and_cannot_be_guessed_from_one_another(api, shop, kari):
    codes = {reserve(api, f"chk-{n}", points=100).json()["code"] for n in range(5)}

    assert len(codes) == 5


def test_an_amount_is_converted_at_the_point_value_and_rounded_down_to_a_step(api, shop, kari):
    reply = reserve(api, amount="37.90")  # 379 points' worth: 100, then steps of 50 -> 350

    assert reply.status_code == 201, reply.json()
    assert (reply.json()["points"], reply.json()["amount"]) == (350, "35.00")
    assert balance(kari) == 650


def test_a_shop_may_set_its_own_point_value_and_share(api, shop, kari, programme):
    shop.point_value = Decimal("0.20")
    shop.redeem_max_share = 10
    shop.save()

    assert reserve(api, "big", points=500, order_amount="500.00").json()["code"] == "exceeds_order_share"
    reply = reserve(api, "ok", points=250, order_amount="500.00")

    assert reply.status_code == 201, reply.json()
    assert reply.json()["amount"] == "50.00"
    assert checkout_terms(shop=None, programme=programme).point_value == Decimal("0.10")


def test_a_replay_answers_the_first_body_and_other_data_is_a_conflict(api, shop, kari):
    first = reserve(api, points=500)

    again = reserve(api, points=500)
    other = reserve(api, points=300)

    assert again.status_code == 200 and again.json() == first.json()
    assert other.status_code == 409 and other.json()["code"] == "idempotency_conflict"
    assert other.json()["field"] == "redemption_id"
    assert balance(kari) == 500 and Redemption.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"points": 1050}, "insufficient_points", "points"),
        ({"points": 50}, "below_minimum", "points"),
        ({"amount": "5.00"}, "below_minimum", "amount"),
        ({"points": 120}, "not_a_step", "points"),
        ({"points": 600, "order_amount": "100.00"}, "exceeds_order_share", "points"),  # 60.00 > 50 % of 100.00
    ],
)
def test_refusals_are_422_with_a_stable_code_and_change_nothing(api, shop, kari, body, code, field):
    reply = reserve(api, **body)

    assert reply.status_code == 422, reply.json()
    assert (reply.json()["code"], reply.json()["field"]) == (code, field)
    assert reply.json()["message"]
    assert balance(kari) == 1000 and not Redemption.objects.exists()


def test_a_member_nobody_matches_is_422_member_not_found(api, shop, kari):
    reply = api.post(
        REDEMPTIONS, {"redemption_id": "x", "member": {"email": "nobody@example.com"}, "points": 100}, format="json"
    )

    assert reply.status_code == 422
    assert (reply.json()["code"], reply.json()["field"]) == ("member_not_found", "member")
    assert not Redemption.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"points": 100, "amount": "10.00"}, "points"),
        ({}, "points"),
        ({"points": 0}, "points"),
        ({"points": "100"}, "points"),
        ({"amount": 10}, "amount"),
        ({"amount": "-10.00"}, "amount"),
    ],
)
def test_bad_input_is_400_naming_the_field(api, shop, kari, body, field):
    reply = api.post(
        REDEMPTIONS, {"redemption_id": "x", "member": {"email": "kari@example.com"}, **body}, format="json"
    )

    assert reply.status_code == 400, reply.json()
    assert reply.json()["field"] == field
    assert not Redemption.objects.exists()


def test_capture_keeps_the_points_spent_and_is_idempotent(api, shop, kari):
    reserve(api, points=500)

    first = api.post(f"{REDEMPTIONS}chk-1/capture/", {"order_id": "10045"}, format="json")
    again = api.post(f"{REDEMPTIONS}chk-1/capture/", {"order_id": "10045"}, format="json")
    other = api.post(f"{REDEMPTIONS}chk-1/capture/", {"order_id": "10046"}, format="json")
    release = api.post(f"{REDEMPTIONS}chk-1/release/")

    assert first.status_code == 200 and first.json()["status"] == "captured" and first.json()["order_id"] == "10045"
    assert again.status_code == 200 and again.json() == first.json()
    assert other.status_code == 409 and other.json()["code"] == "redemption_captured"
    assert release.status_code == 409 and release.json()["code"] == "redemption_captured"
    assert balance(kari) == 500
    assert api.get(f"/api/v1/members/{kari.public_id}/").json()["reserved"] == 0


def test_release_gives_the_points_back_into_their_lots_and_is_idempotent(api, shop, kari):
    lot_before = PointsLot.objects.get(member=kari)
    reserve(api, points=500)

    first = api.post(f"{REDEMPTIONS}chk-1/release/")
    again = api.post(f"{REDEMPTIONS}chk-1/release/")
    capture = api.post(f"{REDEMPTIONS}chk-1/capture/", {"order_id": "10045"}, format="json")

    assert first.status_code == 200 and first.json()["status"] == "released"
    assert again.status_code == 200 and again.json() == first.json()
    assert capture.status_code == 409 and capture.json()["code"] == "redemption_released"
    assert balance(kari) == 1000
    back = LedgerEntry.objects.get(member=kari, kind=EntryKind.RETURN)
    assert back.points == 500 and back.corrects.kind == EntryKind.REDEEM
    lot = PointsLot.objects.get(member=kari)  # no new lot: the points went back where they came from
    assert (lot.pk, lot.remaining, lot.expires_at) == (lot_before.pk, 1000, lot_before.expires_at)
    assert_ledger_clean()


def test_an_unknown_redemption_is_404(api, shop, kari):
    assert api.post(f"{REDEMPTIONS}nope/release/").json()["code"] == "redemption_not_found"
    reply = api.post(f"{REDEMPTIONS}nope/capture/", {"order_id": "1"}, format="json")
    assert reply.status_code == 404 and reply.json()["code"] == "redemption_not_found"


def test_another_shop_cannot_see_or_touch_a_redemption(api, other_api, shop, kari):
    reserve(api, points=500)

    assert other_api.post(f"{REDEMPTIONS}chk-1/release/").status_code == 404
    assert other_api.post(f"{REDEMPTIONS}chk-1/capture/", {"order_id": "1"}, format="json").status_code == 404
    assert balance(kari) == 500


def test_an_order_carrying_the_code_captures_it(api, shop, kari):
    code = reserve(api, points=500).json()["code"]

    order = api.post(
        "/api/v1/orders/",
        order_payload(order_id="10045", amount="950.00", discount_codes=["SUMMER10", code.lower()]),
        format="json",
    )

    assert order.status_code == 201, order.json()
    redemption = Redemption.objects.get()
    assert (redemption.status, redemption.order_id) == (RedemptionStatus.CAPTURED, "10045")
    assert order.json()["balance"] == 500 + order.json()["points_awarded"]
    replay = api.post(
        "/api/v1/orders/",
        order_payload(order_id="10045", amount="950.00", discount_codes=["SUMMER10", code.lower()]),
        format="json",
    )
    assert replay.status_code == 200
    assert Redemption.objects.get().order_id == "10045"


def test_an_order_carrying_a_reward_voucher_marks_it_used(api, shop, kari):
    voucher = reward_redeem(member=kari, reward=Reward.objects.create(name="Coffee", points_cost=100))

    api.post("/api/v1/orders/", order_payload(order_id="10045", discount_codes=[voucher.code]), format="json")

    voucher.refresh_from_db()
    assert (voucher.status, voucher.used_order_id, voucher.used_by_shop) == (VoucherStatus.USED, "10045", shop)


def test_a_released_code_on_an_order_does_not_fail_the_order(api, shop, kari):
    code = reserve(api, points=500).json()["code"]
    api.post(f"{REDEMPTIONS}chk-1/release/")

    order = api.post("/api/v1/orders/", order_payload(order_id="10045", discount_codes=[code]), format="json")

    assert order.status_code == 201
    assert Redemption.objects.get().status == RedemptionStatus.RELEASED
    assert Voucher.objects.count() == 0


def test_a_refund_gives_back_the_same_share_of_the_points_spent(api, shop, kari):
    code = reserve(api, points=500).json()["code"]
    api.post("/api/v1/orders/", order_payload(order_id="10045", amount="1000.00", discount_codes=[code]), format="json")
    after_order = balance(kari)

    part = api.post("/api/v1/orders/10045/refunds/", {"refund_id": "R-1", "amount": "250.00"}, format="json")
    rest = api.post("/api/v1/orders/10045/refunds/", {"refund_id": "R-2", "amount": "750.00"}, format="json")
    replay = api.post("/api/v1/orders/10045/refunds/", {"refund_id": "R-2", "amount": "750.00"}, format="json")

    assert part.status_code == 201 and part.json()["points_returned"] == 125
    assert rest.json()["points_returned"] == 375 and replay.json() == rest.json()
    # The order's points clawed back, the checkout's points given back: where Kari was before the order.
    assert balance(kari) == after_order - 1000 + 500 == 1000
    assert Redemption.objects.get().points_returned == 500
    assert_ledger_clean()


def test_refunds_give_back_no_points_when_the_programme_says_so(api, shop, kari, programme):
    programme.refund_returns_points = False
    programme.save()
    code = reserve(api, points=500).json()["code"]
    api.post("/api/v1/orders/", order_payload(order_id="10045", discount_codes=[code]), format="json")

    refund = api.post("/api/v1/orders/10045/refunds/", {"refund_id": "R-1", "amount": "1000.00"}, format="json")

    assert refund.json()["points_returned"] == 0
    assert balance(kari) == 500


def test_reservations_past_their_time_are_released_by_the_job_once(api, shop, kari):
    reserve(api, "old", points=300)
    reserve(api, "young", points=200)
    Redemption.objects.filter(external_id="old").update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    assert redemptions_expire_task() == 1
    assert redemptions_expire() == 0  # run again: nothing more

    statuses = dict(Redemption.objects.values_list("external_id", "status"))
    assert statuses == {"old": "released", "young": "reserved"}
    assert balance(kari) == 800
    assert_ledger_clean()


def test_the_job_releases_in_batches_until_none_is_due(api, shop, kari):
    for n in range(5):
        reserve(api, f"chk-{n}", points=100)

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=31)):
        assert redemptions_expire(batch=2) == 2
        assert redemptions_expire(batch=2) == 2
        assert redemptions_expire(batch=2) == 1

    assert balance(kari) == 1000


def test_a_reservation_past_its_time_but_not_yet_released_can_still_be_captured(api, shop, kari):
    reserve(api, points=300)

    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        reply = api.post(f"{REDEMPTIONS}chk-1/capture/", {"order_id": "10045"}, format="json")
        assert redemptions_expire() == 0

    assert reply.json()["status"] == "captured"
    assert balance(kari) == 700


def test_points_given_back_after_their_lot_expired_start_a_new_lot(api, shop, kari, programme):
    programme.points_expire_months = 12
    programme.save()
    reserve(api, points=500)
    PointsLot.objects.filter(member=kari).update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    api.post(f"{REDEMPTIONS}chk-1/release/")

    fresh = PointsLot.objects.get(member=kari, entry__kind=EntryKind.RETURN)
    assert fresh.remaining == 500 and fresh.expires_at > timezone.now() + dt.timedelta(days=300)
    assert_ledger_clean()


def test_check_ledger_finds_a_redemption_whose_points_do_not_match_its_entries(api, shop, kari):
    reserve(api, points=500)
    Redemption.objects.update(points=400)

    out, err = StringIO(), StringIO()
    with pytest.raises(Exception, match="Ledger check failed"):
        call_command("check_ledger", stdout=out, stderr=err)
    assert "chk-1" in err.getvalue()
