"""Fixtures every webhook test here uses: a client that enforces CSRF as a platform's request meets it, the
payloads, and a check of the ledger after every scenario."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tests.loyalty.webhooks.support import load


@pytest.fixture(autouse=True)
def ledger_stays_consistent(db: Any):
    """Every scenario must leave ``balance == sum(entries)`` for every member."""
    yield
    call_command("check_ledger", stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def shopify_order() -> dict[str, Any]:
    return load("shopify_orders_paid.json")


@pytest.fixture
def woo_order() -> dict[str, Any]:
    return load("woocommerce_order.json")
