"""Campaign earning rules: multipliers and bonuses for a time, tiers, shops, categories or SKUs, with a minimum
order and a cap per member, stacking in the documented order; the order's ledger entry says which applied."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty.campaigns import ItemLine, RuleSpec, earning_points
from loyalty.models import EarningRule, EarningRuleUse, EntryKind, LedgerEntry, PointsAccount, RuleKind
from loyalty.orders import OrderInput, OrderItem, order_record, refund_record
from loyalty.shops import MemberRef

pytestmark = pytest.mark.django_db

DECEMBER = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
JANUARY = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def rule(**fields) -> EarningRule:
    tiers = fields.pop("tiers", [])
    shops = fields.pop("shops", [])
    created = EarningRule.objects.create(
        **{"name": "Double December", "starts_at": DECEMBER, "ends_at": JANUARY, "multiplier": Decimal("2"), **fields}
    )
    created.tiers.set(tiers)
    created.shops.set(shops)
    return created


def order_at(shop, when: dt.datetime, *, order_id: str = "1001", amount: str = "1000.00", items=None):
    return order_record(
        shop=shop,
        order=OrderInput(
            order_id=order_id,
            member=MemberRef(email="kari@example.com"),
            amount=Decimal(amount),
            currency=shop.currency,
            occurred_at=when,
            items=items
            or (OrderItem(sku="SKU-1", name="Shoe", category="running", quantity=1, unit_price=Decimal(amount)),),
        ),
    )


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(dt.datetime(2027, 1, 15, tzinfo=dt.UTC))


def test_double_points_apply_inside_the_period_and_the_entry_names_the_rule(shop, tiers, programme, frozen):
    december = rule()
    result = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC))
    assert result.outcome.points_awarded == 2000
    entry = LedgerEntry.objects.get(order=result.order, kind=EntryKind.EARN)
    assert entry.tier_points == 1000  # campaign points never count towards tiers
    assert entry.detail["rules"] == [
        {
            "rule": december.pk,
            "name": "Double December",
            "kind": "multiplier",
            "points": 1000,
            "covered_amount": "1000.00",
            "capped": False,
        }
    ]


@pytest.mark.parametrize("when", [dt.datetime(2026, 11, 30, 23, 59, tzinfo=dt.UTC), JANUARY])
def test_rules_do_not_apply_outside_their_period(shop, tiers, programme, frozen, when):
    rule()
    assert order_at(shop, when).outcome.points_awarded == 1000


def test_inactive_rules_do_not_apply(shop, tiers, programme, frozen):
    rule(is_active=False)
    assert order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC)).outcome.points_awarded == 1000


def test_rule_limited_to_a_tier_skips_other_tiers(shop, tiers, programme, frozen):
    silver = tiers[1]
    rule(tiers=[silver])
    assert order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC)).outcome.points_awarded == 1000  # Bronze
    # The first order lifted Kari to Silver (1000 qualifying points): x1.25, plus one more helping of base points
    assert PointsAccount.objects.get().tier == silver
    second = order_at(shop, dt.datetime(2026, 12, 11, tzinfo=dt.UTC), order_id="1002")
    assert second.outcome.points_awarded == 1250 + 1000


def test_rule_limited_to_a_shop_skips_other_shops(shop, other_shop, tiers, programme, frozen):
    rule(shops=[other_shop])
    assert order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC)).outcome.points_awarded == 1000
    # Silver after the first order: 1250, plus one more helping of base points in the rule's shop
    assert order_at(other_shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC)).outcome.points_awarded == 2250


def test_category_rule_multiplies_only_the_matching_share_of_the_order(shop, tiers, programme, frozen):
    rule(multiplier=Decimal("3"), categories="Running, trail")
    items = (
        OrderItem(sku="SHOE", category="running", quantity=1, unit_price=Decimal("600.00")),
        OrderItem(sku="JACKET", category="outerwear", quantity=1, unit_price=Decimal("400.00")),
    )
    result = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC), items=items)
    assert result.outcome.points_awarded == 1000 + 2 * 600
    entry = LedgerEntry.objects.get(order=result.order)
    assert entry.detail["rules"][0]["covered_amount"] == "600.00"


def test_sku_rule_without_a_matching_item_does_not_apply(shop, tiers, programme, frozen):
    rule(kind=RuleKind.BONUS, bonus_points=300, skus="GIFT-CARD")
    assert order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC)).outcome.points_awarded == 1000
    items = (OrderItem(sku="gift-card", quantity=1, unit_price=Decimal("1000.00")),)
    second = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC), order_id="2", items=items)
    assert second.outcome.points_awarded == 1250 + 300  # Silver after the first order


def test_minimum_order_amount_is_required(shop, tiers, programme, frozen):
    rule(kind=RuleKind.BONUS, bonus_points=100, min_order_amount=Decimal("500.00"))
    assert order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC), amount="499.00").outcome.points_awarded == 499
    big = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC), order_id="2", amount="500.00")
    assert big.outcome.points_awarded == 600


def test_cap_per_member_limits_what_a_rule_gives_over_several_orders(shop, tiers, programme, frozen):
    capped = rule(cap_per_member=1500)
    first = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC))
    second = order_at(shop, dt.datetime(2026, 12, 11, tzinfo=dt.UTC), order_id="1002")
    third = order_at(shop, dt.datetime(2026, 12, 12, tzinfo=dt.UTC), order_id="1003")
    assert first.outcome.points_awarded == 2000
    # Silver now (x1.25): 1250 plus what is left of the cap (500), then nothing more
    assert second.outcome.points_awarded == 1250 + 500
    assert third.outcome.points_awarded == 1250
    entry = LedgerEntry.objects.get(order=second.order)
    assert entry.detail["rules"][0]["capped"] is True
    assert sum(EarningRuleUse.objects.filter(rule=capped).values_list("points", flat=True)) == 1500


def test_a_refund_gives_its_share_of_a_rules_cap_back(shop, tiers, programme, frozen):
    """The cap counts the campaign points a member kept: what a refund claws back may be earned again."""
    rule(kind=RuleKind.BONUS, bonus_points=500, cap_per_member=500)
    first = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC), amount="100.00")
    assert first.outcome.points_awarded == 100 + 500
    refund_record(shop=shop, order_id="1001", refund_id="R1", amount=Decimal("40.00"))  # 40 %: 200 of the 500
    second = order_at(shop, dt.datetime(2026, 12, 11, tzinfo=dt.UTC), order_id="1002", amount="100.00")
    assert second.outcome.points_awarded == 100 + 200
    refund_record(shop=shop, order_id="1001", refund_id="R2", amount=Decimal("60.00"))  # the rest of the order
    third = order_at(shop, dt.datetime(2026, 12, 12, tzinfo=dt.UTC), order_id="1003", amount="100.00")
    assert third.outcome.points_awarded == 100 + 300
    fourth = order_at(shop, dt.datetime(2026, 12, 13, tzinfo=dt.UTC), order_id="1004", amount="100.00")
    assert fourth.outcome.points_awarded == 100  # 200 + 300 kept: the cap is used up again
    uses = EarningRuleUse.objects.order_by("order__external_id").values_list("points", "clawed_back")
    assert list(uses) == [(500, 500), (200, 0), (300, 0)]


def test_rules_stack_additively_multipliers_before_bonuses_by_priority(shop, tiers, programme, frozen):
    bonus = rule(name="Welcome weekend", kind=RuleKind.BONUS, bonus_points=50, priority=1)
    triple = rule(name="Triple", multiplier=Decimal("3"), priority=20)
    double = rule(name="Double", multiplier=Decimal("2"), priority=10)
    result = order_at(shop, dt.datetime(2026, 12, 10, tzinfo=dt.UTC))
    assert result.outcome.points_awarded == 1000 + 1000 + 2000 + 50
    entry = LedgerEntry.objects.get(order=result.order)
    assert [line["rule"] for line in entry.detail["rules"]] == [double.pk, triple.pk, bonus.pk]


def test_replayed_order_awards_rule_points_once(shop, tiers, programme, frozen):
    rule(cap_per_member=10_000)
    when = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)
    first = order_at(shop, when)
    again = order_at(shop, when)
    assert again.created is False and again.outcome == first.outcome
    assert PointsAccount.objects.get().balance == 2000
    assert EarningRuleUse.objects.count() == 1


def test_earning_points_is_pure_and_explains_each_step(shop, tiers, programme):
    silver = tiers[1]
    at = timezone.now()
    specs = [
        RuleSpec(id=1, name="Double", kind=RuleKind.MULTIPLIER, multiplier=Decimal("2"), categories=frozenset({"a"})),
        RuleSpec(id=2, name="Bonus", kind=RuleKind.BONUS, bonus_points=40, cap_per_member=50),
    ]
    breakdown = earning_points(
        programme=programme,
        shop=shop,
        amount=Decimal("200"),
        tax=Decimal("0"),
        tier=silver,
        at=at,
        items=[ItemLine(category="A", unit_price=Decimal("50")), ItemLine(category="b", unit_price=Decimal("150"))],
        rules=specs,
        used={2: 30},
    )
    assert (breakdown.base_points, breakdown.tier_total) == (200, 250)
    assert [(line.rule_id, line.points, line.capped) for line in breakdown.rules] == [(1, 50, False), (2, 20, True)]
    assert breakdown.points == 320
