"""What must hold after every step of the ledger's state machine (``test_ledger_stateful.py``), apart from its rules.

``LedgerInvariants`` is a mixin for that ``RuleBasedStateMachine``: it reads the machine's model of what every balance
must be (``accounts``, ``model_orders``, ``model_refunds``, ``voucher_status``, ``reward``, ``stock`` and
``bonus_kept()``) and compares it with the database.
"""

from __future__ import annotations

from django.db.models import Count, F, Sum
from hypothesis.stateful import invariant

from loyalty.ledger import hold_mismatches, ledger_mismatches, lot_mismatches
from loyalty.models import (
    EarningRuleUse,
    EntryKind,
    LedgerEntry,
    Order,
    PointsAccount,
    PointsLot,
    Refund,
    Reward,
    Voucher,
)
from tests.loyalty.ledger_model import BONUS_CAP


class LedgerInvariants:
    def snapshot(self) -> tuple:
        return (
            LedgerEntry.objects.count(),
            tuple(PointsAccount.objects.order_by("member_id").values_list("member_id", "balance")),
            PointsLot.objects.aggregate(open=Sum("remaining"))["open"],
            Order.objects.count(),
            Refund.objects.count(),
            Voucher.objects.count(),
            tuple(Voucher.objects.order_by("pk").values_list("status", flat=True)),
            Reward.objects.get(pk=self.reward.pk).stock,
        )

    @invariant()
    def ledger_and_lots_add_up(self) -> None:
        assert ledger_mismatches() == []
        assert lot_mismatches() == []
        assert hold_mismatches() == []

    @invariant()
    def balances_and_lots_match_the_model(self) -> None:
        balances = dict(PointsAccount.objects.values_list("member__user__email", "balance"))
        lots = dict(
            PointsLot.objects.values("member__user__email")
            .annotate(open=Sum("remaining"))
            .values_list("member__user__email", "open")
        )
        for email, account in self.accounts.items():
            assert balances.get(email, 0) == account.balance, email
            assert (lots.get(email) or 0) == account.open_points, email
        assert Reward.objects.get(pk=self.reward.pk).stock == self.stock

    @invariant()
    def only_a_clawback_takes_a_balance_below_zero(self) -> None:
        below = LedgerEntry.objects.filter(points__lt=0, balance_after__lt=0).exclude(kind=EntryKind.CLAWBACK)
        assert not below.exists()

    @invariant()
    def refunds_never_take_back_more_than_was_earned(self) -> None:
        for order in Order.objects.only("points_awarded", "points_clawed_back", "amount", "refunded_amount"):
            assert 0 <= order.points_clawed_back <= order.points_awarded
            assert order.refunded_amount <= order.amount
        clawed = LedgerEntry.objects.filter(kind=EntryKind.CLAWBACK).values("order_id").annotate(total=Sum("points"))
        awarded = dict(Order.objects.values_list("pk", "points_awarded"))
        for row in clawed:
            assert -row["total"] <= awarded[row["order_id"]]

    @invariant()
    def a_campaigns_cap_counts_the_bonus_points_members_kept(self) -> None:
        kept = dict(
            EarningRuleUse.objects.values("member__user__email")
            .annotate(kept=Sum(F("points") - F("clawed_back")))
            .values_list("member__user__email", "kept")
        )
        for email in self.accounts:
            assert (kept.get(email) or 0) == self.bonus_kept(email) <= BONUS_CAP, email

    @invariant()
    def every_idempotency_key_had_one_effect(self) -> None:
        assert Order.objects.count() == len(self.model_orders)
        assert Refund.objects.count() == len(self.model_refunds)
        per_order = LedgerEntry.objects.filter(kind=EntryKind.EARN).values("order_id").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in per_order)
        per_refund = LedgerEntry.objects.filter(refund__isnull=False).values("refund_id").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in per_refund)
        keyed = Voucher.objects.exclude(request_key="").values("member_id", "request_key").annotate(n=Count("id"))
        assert all(row["n"] == 1 for row in keyed)
        assert Voucher.objects.count() == len(self.voucher_status)
