"""A Hypothesis state machine drives the points engine through its real services and checks it after every step.

Random sequences of orders (some earning a campaign bonus with a cap per member), refunds (partial, full, too
large), reward redemptions (with and without a repeated form key), vouchers used and cancelled, points reserved at a
checkout and then released, timed out or captured by an order carrying the code (whose refunds give back their
share), staff adjustments,
referral sign-ups and the referral reward job, points expiry with the clock moving on, and replays (same key and
payload) and conflicts (same key, other payload) of orders and refunds. A small model (``ledger_model.py``),
computed independently of the services, says what every balance and every points lot must be; after each step the
database must agree with it, ``ledger_mismatches()`` and ``lot_mismatches()`` must be empty, no debit but a clawback
may take a balance below zero, a refund never claws back more than its order earned, a campaign's cap counts exactly
the bonus points members kept, and every idempotency key has had at most one effect.

The amount of exploration comes from the Hypothesis profile (tests/conftest.py): ``HYPOTHESIS_PROFILE=thorough``
for a long local run.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from decimal import Decimal

import pytest
import time_machine
from django.db import transaction
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, multiple, rule, run_state_machine_as_test

from loyalty.errors import (
    IdempotencyConflict,
    InsufficientPoints,
    RedemptionCaptured,
    RefundExceedsOrder,
    RewardOutOfStock,
    VoucherNotCancellable,
)
from loyalty.ledger import (
    points_adjust,
    points_expire,
    points_redeem,
)
from loyalty.models import (
    EarningRule,
    Programme,
    Redemption,
    Reward,
    RuleKind,
    Voucher,
    VoucherStatus,
)
from loyalty.orders import OrderInput, OrderItem, order_record, refund_record
from loyalty.rewards import redemption_release, redemption_reserve, redemptions_expire
from loyalty.rewards.catalogue import reward_redeem, voucher_cancel, voucher_use
from loyalty.shops import MemberRef, shop_member_enrol
from members.models import Member
from referrals.models import ReferralProgramme
from referrals.services import referral_code_for, referrals_reward_due
from tests.factories import ShopFactory, TierFactory, UserFactory
from tests.loyalty.ledger_invariants import LedgerInvariants
from tests.loyalty.ledger_model import (
    BONUS,
    BONUS_CAP,
    BONUS_MINIMUM,
    CONFIRMATION_DAYS,
    EXPIRE_MONTHS,
    FRIEND_BONUS,
    MINIMUM_ORDER,
    REFERRER_REWARD,
    REWARD_COST,
    REWARD_STOCK,
    Account,
    ModelOrder,
    ModelRedemption,
    ModelReferral,
    clawback_total,
)

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)
MEMBERS = ("ada@example.com", "bo@example.com")


class LedgerMachine(LedgerInvariants, RuleBasedStateMachine):
    orders = Bundle("orders")
    refunds = Bundle("refunds")
    vouchers = Bundle("vouchers")
    checkouts = Bundle("checkouts")

    def __init__(self) -> None:
        super().__init__()
        # Each run is one savepoint inside the test's transaction, rolled back in teardown().
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(START, tick=False)
        self.traveller = self._clock.start()
        programme = Programme.load()
        programme.points_per_unit = Decimal("1")
        programme.points_expire_months = EXPIRE_MONTHS
        programme.tier_window_months = 12
        programme.save()
        # Tiers without multipliers: what an order earns does not depend on the tier, so the model stays simple.
        TierFactory(name="Base", threshold=0, multiplier=Decimal("1.00"))
        TierFactory(name="Upper", threshold=2000, multiplier=Decimal("1.00"))
        ReferralProgramme.objects.update_or_create(
            pk=1,
            defaults={
                "friend_bonus": FRIEND_BONUS,
                "referrer_reward": REFERRER_REWARD,
                "minimum_order": MINIMUM_ORDER,
                "confirmation_days": CONFIRMATION_DAYS,
                "monthly_reward_limit": 1000,
            },
        )
        EarningRule.objects.create(
            name="Big basket bonus",
            kind=RuleKind.BONUS,
            bonus_points=BONUS,
            min_order_amount=BONUS_MINIMUM,
            cap_per_member=BONUS_CAP,
            starts_at=START - dt.timedelta(days=1),
        )
        self.shop = ShopFactory()
        # May adjust any amount (the support staff's limit has its own tests in test_staff_control.py).
        self.staff = UserFactory(email="staff@example.com", is_staff=True, is_superuser=True)
        self.reward = Reward.objects.create(name="Mug", points_cost=REWARD_COST, stock=REWARD_STOCK)
        self.accounts: dict[str, Account] = {}
        self.model_orders: dict[str, ModelOrder] = {}
        self.model_refunds: dict[str, tuple[str, Decimal]] = {}
        self.voucher_status: dict[str, str] = {}
        self.redeem_keys: dict[tuple[str, str], str] = {}
        self.referrals: dict[str, ModelReferral] = {}
        self.checkouts: dict[str, ModelRedemption] = {}
        self.stock = REWARD_STOCK
        self.serial = 0

    def teardown(self) -> None:
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- helpers ---------------------------------------------------------------------------------------------

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial}"

    @property
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def member(self, email: str) -> Member:
        return Member.objects.get(user__email=email)

    def account(self, email: str) -> Account:
        return self.accounts.setdefault(email, Account())

    def order_input(self, order_id: str, email: str, amount: Decimal) -> OrderInput:
        return OrderInput(
            order_id=order_id,
            member=MemberRef(email=email),
            amount=amount,
            currency=self.shop.currency,
            occurred_at=self.now,
            items=(OrderItem(sku="S", name="Thing", quantity=1, unit_price=amount),),
        )

    # --- rules -----------------------------------------------------------------------------------------------

    @rule(target=orders, email=st.sampled_from(MEMBERS), cents=st.integers(min_value=0, max_value=250_000))
    def order(self, email: str, cents: int) -> str:
        amount = Decimal(cents) / 100
        order_id = self.next_id("O")
        payload = self.order_input(order_id, email, amount)
        result = order_record(shop=self.shop, order=payload)
        assert result.created
        model = self._record_order(order_id, email, amount, payload)
        assert result.outcome.points_awarded == math.floor(amount) + model.bonus
        return order_id

    def bonus_kept(self, email: str) -> int:
        return sum(order.bonus_kept for order in self.model_orders.values() if order.email == email)

    def _record_order(self, order_id: str, email: str, amount: Decimal, payload: OrderInput) -> ModelOrder:
        bonus = min(BONUS, BONUS_CAP - self.bonus_kept(email)) if amount >= BONUS_MINIMUM else 0
        points = math.floor(amount) + bonus
        if points:
            self.account(email).credit(points, self.now)
        else:
            self.account(email)
        model = self.model_orders[order_id] = ModelOrder(email, amount, points, payload, bonus=bonus)
        referral = self.referrals.get(email)
        if referral and referral.status == "pending" and amount >= MINIMUM_ORDER:
            referral.status, referral.order_id = "qualified", order_id
            referral.due_at = self.now + dt.timedelta(days=CONFIRMATION_DAYS)
        return model

    @rule(order_id=orders)
    def replay_order(self, order_id: str) -> None:
        before = self.snapshot()
        result = order_record(shop=self.shop, order=self.model_orders[order_id].payload)
        assert not result.created and result.order.external_id == order_id
        assert self.snapshot() == before

    @rule(order_id=orders, cents=st.integers(min_value=1, max_value=10_000))
    def conflicting_order(self, order_id: str, cents: int) -> None:
        original = self.model_orders[order_id]
        before = self.snapshot()
        with pytest.raises(IdempotencyConflict):
            order_record(
                shop=self.shop, order=self.order_input(order_id, original.email, original.amount + Decimal(cents) / 100)
            )
        assert self.snapshot() == before

    @rule(
        target=refunds, order_id=orders, share=st.sampled_from(["full", "part", "too much"]), cents=st.integers(1, 99)
    )
    def refund(self, order_id: str, share: str, cents: int) -> object:
        order = self.model_orders[order_id]
        left = order.amount - order.refunded
        if share == "full":
            amount = left
        elif share == "part":
            amount = (left * Decimal(cents) / 100).quantize(Decimal("0.01"))
        else:
            amount = left + Decimal(cents) / 100
        refund_id = self.next_id("R")
        before = self.snapshot()
        if amount <= 0:
            return multiple()
        if amount > left:
            with pytest.raises(RefundExceedsOrder):
                refund_record(shop=self.shop, order_id=order_id, refund_id=refund_id, amount=amount)
            assert self.snapshot() == before
            return multiple()
        result = refund_record(shop=self.shop, order_id=order_id, refund_id=refund_id, amount=amount)
        assert result.created
        order.refunded += amount
        take = clawback_total(order.awarded, order.refunded, order.amount) - order.clawed
        assert result.outcome.points_clawed_back == take
        order.clawed += take
        if take:
            self.account(order.email).debit(take)
        returned = 0
        for checkout in self.checkouts.values():  # the points a checkout paid the order with: its share comes back
            if checkout.order_id == order_id and checkout.status == "captured":
                back = clawback_total(checkout.points, order.refunded, order.amount) - checkout.returned
                if back:
                    self._give_back(checkout, back)
                    returned += back
        assert result.outcome.points_returned == returned
        self.model_refunds[refund_id] = (order_id, amount)
        self._reject_referral_if_returned(order_id, order)
        return refund_id

    def _reject_referral_if_returned(self, order_id: str, order: ModelOrder) -> None:
        returned = order.refunded >= order.amount or order.amount - order.refunded < MINIMUM_ORDER
        for referral in self.referrals.values():
            if referral.order_id == order_id and referral.status == "qualified" and returned:
                referral.status = "rejected"

    @rule(refund_id=refunds)
    def replay_refund(self, refund_id: str) -> None:
        order_id, amount = self.model_refunds[refund_id]
        before = self.snapshot()
        result = refund_record(shop=self.shop, order_id=order_id, refund_id=refund_id, amount=amount)
        assert not result.created
        assert self.snapshot() == before

    @rule(refund_id=refunds)
    def conflicting_refund(self, refund_id: str) -> None:
        order_id, amount = self.model_refunds[refund_id]
        before = self.snapshot()
        with pytest.raises(IdempotencyConflict):
            refund_record(shop=self.shop, order_id=order_id, refund_id=refund_id, amount=amount + Decimal("0.01"))
        assert self.snapshot() == before

    @rule(target=vouchers, email=st.sampled_from(MEMBERS), key=st.sampled_from(["", "k1", "k2"]))
    def redeem(self, email: str, key: str) -> object:
        if email not in self.accounts:
            return multiple()
        account = self.account(email)
        before = self.snapshot()
        if key and (email, key) in self.redeem_keys:
            voucher = reward_redeem(member=self.member(email), reward=self.reward, request_key=key)
            assert voucher.code == self.redeem_keys[(email, key)]
            assert self.snapshot() == before
            return multiple()
        if self.stock == 0:
            with pytest.raises(RewardOutOfStock):
                reward_redeem(member=self.member(email), reward=self.reward, request_key=key)
            assert self.snapshot() == before
            return multiple()
        if account.balance < REWARD_COST:
            with pytest.raises(InsufficientPoints):
                reward_redeem(member=self.member(email), reward=self.reward, request_key=key)
            assert self.snapshot() == before
            return multiple()
        voucher = reward_redeem(member=self.member(email), reward=self.reward, request_key=key)
        account.debit(REWARD_COST)
        self.stock -= 1
        self.voucher_status[voucher.code] = VoucherStatus.ISSUED
        if key:
            self.redeem_keys[(email, key)] = voucher.code
        return voucher.code

    @rule(code=vouchers)
    def cancel_voucher(self, code: str) -> None:
        voucher = Voucher.objects.get(code=code)
        status = self.voucher_status[code]
        before = self.snapshot()
        if status == VoucherStatus.USED:
            with pytest.raises(VoucherNotCancellable):
                voucher_cancel(voucher=voucher, staff=self.staff)
            assert self.snapshot() == before
            return
        _voucher, cancelled = voucher_cancel(voucher=voucher, staff=self.staff)
        assert cancelled == (status == VoucherStatus.ISSUED)
        if cancelled:
            self.account(voucher.member.user.email).credit(REWARD_COST, self.now)
            self.stock += 1
            self.voucher_status[code] = VoucherStatus.CANCELLED
        else:
            assert self.snapshot() == before

    @rule(code=vouchers)
    def use_voucher(self, code: str) -> None:
        if self.voucher_status[code] != VoucherStatus.ISSUED:
            return
        before = self.snapshot()
        voucher_use(shop=self.shop, code=code, order_id=f"till-{code}")
        self.voucher_status[code] = VoucherStatus.USED
        after = self.snapshot()
        assert after[:6] == before[:6] and after[7] == before[7]  # using a voucher moves no points, nor stock
        assert Voucher.objects.get(code=code).status == VoucherStatus.USED

    # --- points spent at a shop's checkout -------------------------------------------------------------------

    @rule(target=checkouts, email=st.sampled_from(MEMBERS), steps=st.integers(1, 6))
    def reserve(self, email: str, steps: int) -> object:
        if email not in self.accounts:
            return multiple()
        points, account, checkout_id = 100 * steps, self.account(email), self.next_id("C")
        before = self.snapshot()
        if account.balance < points:
            with pytest.raises(InsufficientPoints):
                redemption_reserve(shop=self.shop, redemption_id=checkout_id, member=self.member(email), points=points)
            assert self.snapshot() == before
            return multiple()
        result = redemption_reserve(shop=self.shop, redemption_id=checkout_id, member=self.member(email), points=points)
        assert result.created and result.redemption.points == points
        self.checkouts[checkout_id] = ModelRedemption(email, points, result.redemption.code, account.debit(points))
        return checkout_id

    def _give_back(self, checkout: ModelRedemption, points: int) -> None:
        given = self.account(checkout.email).give_back(points, owed=checkout.owed, at=self.now)
        for index, back in given.items():
            checkout.owed[index] -= back
        checkout.returned += points

    @rule(checkout_id=checkouts)
    def release(self, checkout_id: str) -> None:
        checkout = self.checkouts[checkout_id]
        before = self.snapshot()
        if checkout.status == "captured":
            with pytest.raises(RedemptionCaptured):
                redemption_release(shop=self.shop, redemption_id=checkout_id)
            assert self.snapshot() == before
            return
        result = redemption_release(shop=self.shop, redemption_id=checkout_id)
        if checkout.status == "released":
            assert not result.created and self.snapshot() == before
            return
        assert result.created
        self._give_back(checkout, checkout.points)
        checkout.status = "released"

    @rule(target=orders, checkout_id=checkouts, cents=st.integers(min_value=10_000, max_value=200_000))
    def order_with_the_code(self, checkout_id: str, cents: int) -> str:
        """An order carrying the checkout's code (in any case): it captures a reserved one, and only that."""
        checkout = self.checkouts[checkout_id]
        amount, order_id = Decimal(cents) / 100, self.next_id("O")
        payload = replace(self.order_input(order_id, checkout.email, amount), discount_codes=(checkout.code.lower(),))
        assert order_record(shop=self.shop, order=payload).created
        self._record_order(order_id, checkout.email, amount, payload)
        if checkout.status == "reserved":
            checkout.status, checkout.order_id = "captured", order_id
        stored = Redemption.objects.get(shop=self.shop, external_id=checkout_id)
        assert (stored.status, stored.order_id or None) == (checkout.status, checkout.order_id)
        return order_id

    @rule()
    def checkouts_time_out(self) -> None:
        reserved = [checkout for checkout in self.checkouts.values() if checkout.status == "reserved"]
        released = redemptions_expire(now=self.now + dt.timedelta(minutes=31))
        assert released == len(reserved)
        for checkout in reserved:
            self._give_back(checkout, checkout.points)
            checkout.status = "released"

    @rule(email=st.sampled_from(MEMBERS), points=st.integers(-3000, 3000).filter(bool))
    def adjust(self, email: str, points: int) -> None:
        if email not in self.accounts:
            return
        account = self.account(email)
        before = self.snapshot()
        if points < 0 and account.balance + points < 0:  # a credit is always taken, even one that leaves a debt
            with pytest.raises(InsufficientPoints):
                points_adjust(member=self.member(email), points=points, staff=self.staff, reason="Goodwill")
            assert self.snapshot() == before
            return
        points_adjust(member=self.member(email), points=points, staff=self.staff, reason="Goodwill")
        if points > 0:
            account.credit(points, self.now)
        else:
            account.debit(-points)

    @rule(email=st.sampled_from(MEMBERS))
    def spend_everything(self, email: str) -> None:
        """Spending the whole balance makes a later refund claw back points already spent: a debt."""
        account = self.accounts.get(email)
        if account is None or account.balance <= 0:
            return
        points_redeem(member=self.member(email), points=account.balance, reason="Gift card")
        account.debit(account.balance)

    @rule(referrer=st.sampled_from(MEMBERS))
    def friend_joins(self, referrer: str) -> None:
        if referrer not in self.accounts:
            return
        friend = f"friend{len(self.referrals) + 1}@example.com"
        code = referral_code_for(member=self.member(referrer)).code
        _member, created = shop_member_enrol(shop=self.shop, email=friend, referral_code=code)
        assert created
        self.account(friend).credit(FRIEND_BONUS, self.now)
        self.referrals[friend] = ModelReferral(referrer=referrer, friend=friend)

    @rule(friend_number=st.integers(1, 4), cents=st.integers(20_000, 60_000))
    def friend_orders(self, friend_number: int, cents: int) -> None:
        friends = sorted(self.referrals)
        if not friends:
            return
        email = friends[(friend_number - 1) % len(friends)]
        amount = Decimal(cents) / 100
        order_id = self.next_id("F")
        payload = self.order_input(order_id, email, amount)
        assert order_record(shop=self.shop, order=payload).created
        self._record_order(order_id, email, amount, payload)

    @rule()
    def referral_job(self) -> None:
        paid = referrals_reward_due()
        expected = 0
        for referral in self.referrals.values():
            if referral.status == "qualified" and referral.due_at <= self.now:
                referral.status = "rewarded"
                self.account(referral.referrer).credit(REFERRER_REWARD, self.now)
                expected += 1
        assert paid == expected

    @rule(days=st.integers(1, 120))
    def time_passes_and_points_expire(self, days: int) -> None:
        self.traveller.shift(dt.timedelta(days=days))
        result = points_expire(now=self.now)
        expired = sum(account.expire(self.now) for account in self.accounts.values())
        assert result.points == expired

    @rule()
    def expiry_job_runs_again(self) -> None:
        before = self.snapshot()
        assert points_expire(now=self.now).points == 0
        assert self.snapshot() == before


def test_the_ledger_agrees_with_a_simple_model_through_random_sequences_of_events(db):
    run_state_machine_as_test(LedgerMachine)
