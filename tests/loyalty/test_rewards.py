"""Rewards and vouchers: redeeming spends points and stock together or not at all, every refusal has
its code and changes nothing, vouchers are used idempotently over the API, and cancelling gives the
points and the stock back exactly once."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.api.errors import error_status
from loyalty.errors import LoyaltyError
from loyalty.ledger import ledger_mismatches, points_adjust
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, Reward, Tier, Voucher, VoucherStatus
from loyalty.rewards.catalogue import reward_redeem, voucher_cancel, voucher_code_normalise, voucher_use
from members.models import Member
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{10}$")


def make_reward(**fields) -> Reward:
    tiers = fields.pop("allowed_tiers", [])
    reward = Reward.objects.create(**{"name": "Free coffee", "points_cost": 200, "how_to_use": "Show it.", **fields})
    reward.allowed_tiers.set(tiers)
    return reward


def give(member: Member, points: int) -> None:
    points_adjust(member=member, points=points, staff=None, reason="test setup")


def balance(member: Member) -> int:
    return PointsAccount.objects.get(member=member).balance


def assert_ledger_clean() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out, stderr=StringIO())
    assert "Ledger OK" in out.getvalue()
    assert ledger_mismatches() == []


@pytest.fixture
def funded(tiers, member) -> Member:
    give(member, 500)
    return member


def voucher_url(code: str, redeem: bool = False) -> str:
    return f"/api/v1/vouchers/{code}/" + ("redeem/" if redeem else "")


# Redeeming -------------------------------------------------------------------------------------------


def test_redeeming_debits_points_and_stock_and_issues_a_voucher(funded):
    reward = make_reward(points_cost=200, stock=3)

    voucher = reward_redeem(member=funded, reward=reward)

    assert CODE.match(voucher.code)
    assert voucher.status == VoucherStatus.ISSUED and voucher.points == 200
    assert balance(funded) == 300
    reward.refresh_from_db()
    assert reward.stock == 2
    entry = voucher.redeem_entry
    assert (entry.kind, entry.points, entry.balance_after) == (EntryKind.REDEEM, -200, 300)
    assert entry.detail["voucher"] == voucher.code
    assert_ledger_clean()


def test_unlimited_stock_stays_unlimited_and_codes_are_unique(funded):
    reward = make_reward(points_cost=100, stock=None)
    codes = {reward_redeem(member=funded, reward=reward).code for _ in range(5)}
    assert len(codes) == 5
    reward.refresh_from_db()
    assert reward.stock is None
    assert balance(funded) == 0
    assert_ledger_clean()


def _not_yet(now: dt.datetime) -> dict:
    return {"active_from": now + dt.timedelta(days=1)}


def _over(now: dt.datetime) -> dict:
    return {"active_from": now - dt.timedelta(days=2), "active_until": now - dt.timedelta(days=1)}


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"points_cost": 501}, "insufficient_points"),
        ({"stock": 0}, "reward_out_of_stock"),
        ({"is_active": False}, "reward_unavailable"),
        (_not_yet, "reward_unavailable"),
        (_over, "reward_unavailable"),
        ("gold_only", "tier_not_allowed"),
    ],
    ids=["points", "stock", "switched-off", "not-yet", "over", "tier"],
)
def test_refused_redemptions_name_their_reason_and_change_nothing(funded, tiers, fields, code):
    if fields == "gold_only":
        fields = {"allowed_tiers": [Tier.objects.get(name="Gold")]}
    elif callable(fields):
        fields = fields(timezone.now())
    reward = make_reward(**fields)
    entries, stock = LedgerEntry.objects.count(), reward.stock

    with pytest.raises(LoyaltyError) as refused:
        reward_redeem(member=funded, reward=reward)

    assert refused.value.code == code
    assert balance(funded) == 500
    assert LedgerEntry.objects.count() == entries
    assert not Voucher.objects.exists()
    reward.refresh_from_db()
    assert reward.stock == stock
    assert_ledger_clean()


def test_per_member_limit_counts_vouchers_not_cancelled(funded, admin_user):
    reward = make_reward(points_cost=100, limit_per_member=1, stock=10)
    first = reward_redeem(member=funded, reward=reward)

    with pytest.raises(LoyaltyError) as refused:
        reward_redeem(member=funded, reward=reward)
    assert refused.value.code == "reward_limit_reached"
    assert balance(funded) == 400

    voucher_cancel(voucher=first, staff=admin_user)
    second = reward_redeem(member=funded, reward=reward)
    assert second.pk != first.pk
    assert balance(funded) == 400
    # The limit is per member: another member may still have one.
    other = MemberFactory()
    give(other, 100)
    reward_redeem(member=other, reward=reward)
    assert_ledger_clean()


def test_a_reward_for_some_tiers_is_open_to_members_of_those_tiers(funded, tiers):
    reward = make_reward(allowed_tiers=[tiers[0], tiers[2]])  # Bronze and Gold; the member is Bronze
    assert reward_redeem(member=funded, reward=reward).member_id == funded.pk


def test_reward_is_available_inside_its_period(funded):
    now = timezone.now()
    reward = make_reward(active_from=now - dt.timedelta(hours=1), active_until=now + dt.timedelta(hours=1))
    assert reward_redeem(member=funded, reward=reward).status == VoucherStatus.ISSUED


# Using and cancelling --------------------------------------------------------------------------------


def test_using_a_voucher_is_idempotent_per_shop_and_order(funded, shop, other_shop):
    voucher = reward_redeem(member=funded, reward=make_reward())

    used, created = voucher_use(shop=shop, code=voucher.code.lower(), order_id="A-1")
    assert created and used.status == VoucherStatus.USED and used.used_by_shop == shop
    again, created = voucher_use(shop=shop, code=voucher.code, order_id="A-1")
    assert not created and again.used_at == used.used_at

    for kwargs in ({"shop": shop, "order_id": "A-2"}, {"shop": other_shop, "order_id": "A-1"}):
        with pytest.raises(LoyaltyError) as refused:
            voucher_use(code=voucher.code, **kwargs)
        assert (refused.value.code, error_status(refused.value)) == ("voucher_already_used", 409)
    with pytest.raises(LoyaltyError) as missing:
        voucher_use(shop=shop, code="ZZZZZZZZZZ", order_id="A-1")
    assert (missing.value.code, error_status(missing.value)) == ("voucher_not_found", 404)


def test_cancelling_returns_points_and_stock_exactly_once(funded, shop, admin_user):
    reward = make_reward(points_cost=200, stock=1)
    voucher = reward_redeem(member=funded, reward=reward)
    assert balance(funded) == 300

    cancelled, done = voucher_cancel(voucher=voucher, staff=admin_user)
    again, done_again = voucher_cancel(voucher=voucher, staff=admin_user)

    assert done and not done_again
    assert cancelled.status == again.status == VoucherStatus.CANCELLED
    assert cancelled.cancelled_by == admin_user
    assert balance(funded) == 500
    reward.refresh_from_db()
    assert reward.stock == 1
    refund = LedgerEntry.objects.get(corrects=voucher.redeem_entry)
    assert (refund.kind, refund.points, refund.staff) == (EntryKind.ADJUST, 200, admin_user)
    assert cancelled.cancel_entry == refund
    with pytest.raises(LoyaltyError) as refused:
        voucher_use(shop=shop, code=voucher.code, order_id="A-1")
    assert refused.value.code == "voucher_cancelled"
    assert_ledger_clean()


def test_a_used_voucher_cannot_be_cancelled(funded, shop, admin_user):
    voucher = reward_redeem(member=funded, reward=make_reward(points_cost=200))
    voucher_use(shop=shop, code=voucher.code, order_id="A-1")

    with pytest.raises(LoyaltyError) as refused:
        voucher_cancel(voucher=voucher, staff=admin_user)

    assert refused.value.code == "voucher_not_cancellable"
    assert balance(funded) == 300
    assert Voucher.objects.get().status == VoucherStatus.USED
    assert_ledger_clean()


def test_codes_are_read_case_insensitively_without_spaces_or_dashes():
    assert voucher_code_normalise(" k7qh-3mzp 9a ") == "K7QH3MZP9A"


# The shop API ----------------------------------------------------------------------------------------


def test_api_shows_a_valid_voucher_by_code_in_any_case(api, funded):
    voucher = reward_redeem(member=funded, reward=make_reward(name="Free coffee", how_to_use="Show it."))

    response = api.get(voucher_url(voucher.code.lower()))

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == voucher.code
    assert body["valid"] is True and body["status"] == "issued"
    assert body["reward_name"] == "Free coffee" and body["how_to_use"] == "Show it."
    assert body["member_id"] == str(funded.public_id)
    assert body["used_at"] is None and body["used_order_id"] is None


def test_api_unknown_voucher_is_404(api, db):
    shown = api.get(voucher_url("ZZZZZZZZZZ"))
    used = api.post(voucher_url("ZZZZZZZZZZ", redeem=True), {"order_id": "1"}, format="json")
    for response in (shown, used):
        assert response.status_code == 404
        assert response.json() == {"code": "voucher_not_found", "message": "No voucher has this code.", "field": "code"}


def test_api_redeem_marks_used_and_replays_but_refuses_another_order(api, other_api, funded):
    voucher = reward_redeem(member=funded, reward=make_reward())
    path = voucher_url(voucher.code, redeem=True)

    first = api.post(path, {"order_id": "W-1"}, format="json")
    replay = api.post(voucher_url(voucher.code.lower(), redeem=True), {"order_id": "W-1"}, format="json")
    other_order = api.post(path, {"order_id": "W-2"}, format="json")
    other_shop = other_api.post(path, {"order_id": "W-1"}, format="json")

    assert first.status_code == 200 and replay.status_code == 200
    assert first.json() == replay.json()
    assert first.json()["status"] == "used" and first.json()["valid"] is False
    assert first.json()["used_order_id"] == "W-1"
    assert other_order.status_code == 409 and other_order.json()["code"] == "voucher_already_used"
    assert other_shop.status_code == 409 and other_shop.json()["code"] == "voucher_already_used"
    voucher.refresh_from_db()
    assert voucher.used_order_id == "W-1"
    # Another shop sees that it is used, not which order of ours it was used on.
    seen = other_api.get(voucher_url(voucher.code)).json()
    assert seen["status"] == "used" and seen["valid"] is False and seen["used_order_id"] is None
    assert api.get(voucher_url(voucher.code)).json()["used_order_id"] == "W-1"
    assert balance(funded) == 300  # using a voucher moves no points
    assert_ledger_clean()


def test_api_refuses_a_cancelled_voucher(api, funded, admin_user):
    voucher = reward_redeem(member=funded, reward=make_reward())
    voucher_cancel(voucher=voucher, staff=admin_user)

    shown = api.get(voucher_url(voucher.code))
    response = api.post(voucher_url(voucher.code, redeem=True), {"order_id": "W-1"}, format="json")

    assert shown.json()["status"] == "cancelled" and shown.json()["valid"] is False
    assert response.status_code == 409 and response.json()["code"] == "voucher_cancelled"


def test_api_redeem_needs_an_order_id_and_a_key(api, funded):
    voucher = reward_redeem(member=funded, reward=make_reward())

    missing = api.post(voucher_url(voucher.code, redeem=True), {}, format="json")
    anonymous = APIClient().get(voucher_url(voucher.code))

    assert missing.status_code == 400 and missing.json()["field"] == "order_id"
    assert anonymous.status_code == 401
    assert Voucher.objects.get().status == VoucherStatus.ISSUED


# Admin -----------------------------------------------------------------------------------------------


def test_admin_action_cancels_unused_vouchers_and_skips_used_ones(admin_client, admin_user, funded, shop):
    reward = make_reward(points_cost=100, stock=5)
    unused = reward_redeem(member=funded, reward=reward)
    used = reward_redeem(member=funded, reward=reward)
    voucher_use(shop=shop, code=used.code, order_id="W-1")
    assert balance(funded) == 300

    response = admin_client.post(
        reverse("admin:loyalty_voucher_changelist"),
        {"action": "cancel_vouchers", ACTION_CHECKBOX_NAME: [unused.pk, used.pk]},
        follow=True,
    )

    assert response.status_code == 200
    unused.refresh_from_db()
    used.refresh_from_db()
    assert unused.status == VoucherStatus.CANCELLED and unused.cancelled_by == admin_user
    assert used.status == VoucherStatus.USED
    assert balance(funded) == 400
    reward.refresh_from_db()
    assert reward.stock == 4
    text = response.content.decode()
    assert "Cancelled 1 voucher(s)" in text and "Skipped 1 voucher(s)" in text
    assert_ledger_clean()


def test_admin_reward_and_voucher_pages_open(admin_client, funded):
    reward = make_reward()
    voucher = reward_redeem(member=funded, reward=reward)
    for path in (
        reverse("admin:loyalty_reward_changelist"),
        reverse("admin:loyalty_reward_add"),
        reverse("admin:loyalty_reward_change", args=[reward.pk]),
        reverse("admin:loyalty_voucher_changelist") + f"?q={voucher.code}",
        reverse("admin:loyalty_voucher_change", args=[voucher.pk]),
    ):
        assert admin_client.get(path).status_code == 200, path
