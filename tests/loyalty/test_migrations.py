"""Data migrations, run for real: back to the state before, then forward over rows made by today's code."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone, translation

from loyalty.models import EarningRule, EarningRuleUse, LedgerEntry, Order, PointsAccount, RuleKind, Tier
from loyalty.orders import refund_record
from tests.conftest import make_order

DAY = dt.timedelta(days=1)


def migrate(*targets: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())


@pytest.fixture
def back_to_the_latest_afterwards():
    yield
    migrate()  # whatever a test migrated to, the next one finds today's schema


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_orders_recorded_before_0017_get_the_tier_their_points_were_earned_at(shop, tiers, programme):
    silver = Tier.objects.get(name="Silver")
    silver.name_nb = "Sølv"
    silver.save()
    make_order(shop, order_id="1", email="kari@example.com", amount="1000.00")  # earned at Bronze, made her Silver
    with translation.override("nb"):  # a shop asking in Norwegian: the entry names the tier as "Sølv"
        make_order(shop, order_id="2", email="kari@example.com", amount="100.00")  # earned at Silver
    assert LedgerEntry.objects.get(order__external_id="2").detail["tier"] == "Sølv"
    make_order(shop, order_id="4", email="kari@example.com", amount="4000.00")  # earned at Silver, made her Gold
    make_order(shop, order_id="3", email="ola@example.com", amount="0.00")  # no points: no entry to ask
    PointsAccount.objects.filter(member__user__email="ola@example.com").update(tier=Tier.objects.get(name="Gold"))

    migrate(("loyalty", "0016_ledger_truncate_and_money_checks"))
    migrate(("loyalty", "0017_order_tier"))

    kept = dict(Order.objects.values_list("external_id", "tier__name"))
    # "2" by its Norwegian name (Kari is Gold now); "3", with no entry, at its member's tier at the migration.
    assert kept == {"1": "Bronze", "2": "Silver", "3": "Gold", "4": "Silver"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_rule_uses_on_orders_refunded_before_0018_give_their_share_of_the_cap_back(shop, tiers, programme):
    EarningRule.objects.create(
        name="Bonus", kind=RuleKind.BONUS, bonus_points=300, cap_per_member=900, starts_at=timezone.now() - DAY
    )
    for order_id in ("1", "2", "3"):
        make_order(shop, order_id=order_id, email="kari@example.com", amount="100.00")
    refund_record(shop=shop, order_id="1", refund_id="R1", amount=Decimal("100.00"))  # all of it
    refund_record(shop=shop, order_id="2", refund_id="R2", amount=Decimal("33.00"))  # 33 % of 300: 99

    migrate(("loyalty", "0017_order_tier"))
    migrate(("loyalty", "0018_rule_use_clawed_back"))

    kept = dict(EarningRuleUse.objects.values_list("order__external_id", "clawed_back"))
    assert kept == {"1": 300, "2": 99, "3": 0}
