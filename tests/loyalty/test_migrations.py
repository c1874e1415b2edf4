"""Data migrations, run for real: back to the state before, then forward over rows made by today's code."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from loyalty.models import Order, PointsAccount, Tier
from tests.conftest import make_order


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
    make_order(shop, order_id="1", email="kari@example.com", amount="1000.00")  # earned at Bronze, made her Silver
    make_order(shop, order_id="2", email="kari@example.com", amount="100.00")  # earned at Silver
    make_order(shop, order_id="3", email="ola@example.com", amount="0.00")  # no points: no entry to ask
    PointsAccount.objects.filter(member__user__email="ola@example.com").update(tier=Tier.objects.get(name="Gold"))

    migrate(("loyalty", "0016_ledger_truncate_and_money_checks"))
    migrate(("loyalty", "0017_order_tier"))

    kept = dict(Order.objects.values_list("external_id", "tier__name"))
    assert kept == {"1": "Bronze", "2": "Silver", "3": "Gold"}  # the last: the member's tier at the migration
