"""How Klubb talks to PostgreSQL (``config/settings/base.py``, ``config.bulk.plans_per_execution``)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from config.bulk import plans_per_execution
from loyalty.ledger import expiry, points_expire
from loyalty.management.commands import import_balances, import_orders
from tests.conftest import make_order
from tests.factories import ShopFactory


def plan_cache_mode(wrapper=connection) -> str:
    with wrapper.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


@pytest.mark.postgres
@pytest.mark.django_db
def test_statements_are_prepared_and_may_keep_a_plan_in_a_request():
    """Prepared statements save PostgreSQL parsing an order's statements again, and a request's reads (the widget's
    summary) keep their plan: planning them on every request tripled the summary's PostgreSQL CPU."""
    connection.ensure_connection()
    assert connection.connection.prepare_threshold == 5
    assert plan_cache_mode() == "auto"


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_bulk_command_plans_every_execution_on_its_connections_and_gives_the_setting_back():
    """A generic plan kept by a bulk command was ruinous where its tables grew while it ran (an import's member
    lookups: 13 s of PostgreSQL's CPU became 212 s). The forked writers open connections of their own: so do
    connections opened inside the block."""
    options_before = dict(connection.settings_dict.get("OPTIONS", {}))
    with plans_per_execution():
        assert plan_cache_mode() == "force_custom_plan"
        opened_inside = connection.copy()
        try:
            assert plan_cache_mode(opened_inside) == "force_custom_plan"
        finally:
            opened_inside.close()
    assert plan_cache_mode() == "auto"
    assert connection.settings_dict.get("OPTIONS", {}) == options_before


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "service", "arguments"),
    [
        (import_orders, "orders_import_file", ["--shop", "plans"]),
        (import_balances, "balances_import", ["--batch-id", "plans"]),
    ],
)
def test_the_imports_run_with_every_execution_planned(command, service, arguments, monkeypatch, tmp_path: Path):
    ShopFactory(slug="plans")
    seen = []

    def service_spy(**kwargs):
        seen.append(plan_cache_mode())
        return real(**kwargs)

    real = getattr(command, service)
    monkeypatch.setattr(command, service, service_spy)
    path = tmp_path / "empty.csv"
    path.write_text("order_id,email,amount,currency,occurred_at\n" if command is import_orders else "email,points\n")
    call_command(command.__name__.rsplit(".", 1)[1], str(path), *arguments)
    assert seen == ["force_custom_plan"]
    assert plan_cache_mode() == "auto"


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_expiry_plans_each_batch_for_its_members(shop, tiers, programme, monkeypatch):
    """A plan PostgreSQL kept for the expiry's batch statement after five batches cost the go-live backlog 296 s of
    its CPU instead of 110 s at 1,000,000 members."""
    programme.points_expire_months = 12
    programme.save()
    make_order(shop, order_id="E-1", amount="100.00", occurred_at=timezone.now() - dt.timedelta(days=400))
    seen = []
    real = expiry._batch_expire_committed

    def batch_spy(**kwargs):
        seen.append(plan_cache_mode())
        return real(**kwargs)

    monkeypatch.setattr(expiry, "_batch_expire_committed", batch_spy)
    assert points_expire().members == 1
    assert seen == ["force_custom_plan"]
    assert plan_cache_mode() == "auto"
