"""Shared fixtures, and the rule that PostgreSQL-only tests never silently vanish.

Tests marked ``postgres`` are skipped on SQLite with a visible reason. Under
``KLUBB_REQUIRE_POSTGRES=1`` (``make test-postgres``, CI's second pass) the database must be
PostgreSQL, at least one such test must run, and a skipped one fails the run.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from typing import Any

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.db.backends.signals import connection_created
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from loyalty.models import Programme, Shop, Tier
from loyalty.orders import OrderInput, OrderItem, order_record
from loyalty.shops import MemberRef, api_key_create
from tests.factories import MemberFactory, ShopFactory, TierFactory

# Hypothesis: "ci" (the default) keeps each property test well under a minute on a small shared machine and
# is derandomized, so that a red run is the code's doing and the same run fails again on any machine.
# HYPOTHESIS_PROFILE=thorough (`make fuzz`) explores far more with fresh randomness each time; what it finds
# becomes a plain regression test. No example database: runs are independent.
hypothesis_settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=int(os.environ.get("HYPOTHESIS_MAX_EXAMPLES", "50")),
    stateful_step_count=40,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
hypothesis_settings.register_profile(
    "thorough",
    parent=hypothesis_settings.get_profile("ci"),
    derandomize=False,
    max_examples=500,
    stateful_step_count=60,
)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ON_POSTGRES = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
REQUIRE_POSTGRES = os.environ.get("KLUBB_REQUIRE_POSTGRES") == "1"
_postgres_outcomes: dict[str, int] = {"passed": 0, "skipped": 0, "failed": 0}


def _allow_ledger_truncate(sender: Any, connection: Any, **kwargs: Any) -> None:
    """Transactional tests empty every table with TRUNCATE, which the ledger refuses unless the session says so
    (loyalty migration 0016)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET klubb.allow_ledger_truncate = 'on'")


connection_created.connect(_allow_ledger_truncate)


def pytest_configure(config: pytest.Config) -> None:
    if REQUIRE_POSTGRES and not ON_POSTGRES:
        raise pytest.UsageError("KLUBB_REQUIRE_POSTGRES=1 but DATABASE_URL does not point at PostgreSQL.")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: runs in `make test-postgres`, the second pass of .ci/run")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if "postgres" in report.keywords and (report.when == "call" or report.skipped):
        _postgres_outcomes[report.outcome] = _postgres_outcomes.get(report.outcome, 0) + 1


# What tests ask to show at the end of the run (the API fuzzer's success shares): lines under a heading, each
# under a key, so that a test may replace a line it wrote before (a running total).
RUN_REPORT = pytest.StashKey[dict[str, dict[str, str]]]()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    for heading, lines in config.stash.get(RUN_REPORT, {}).items():
        terminalreporter.section(heading)
        for line in lines.values():
            terminalreporter.write_line(line)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not REQUIRE_POSTGRES or session.config.option.collectonly or session.config.getoption("-k"):
        return
    if _postgres_outcomes["skipped"] or not _postgres_outcomes["passed"] + _postgres_outcomes["failed"]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        print(f"\nPostgreSQL-only tests must run here, and did not all run: {_postgres_outcomes}")


@pytest.fixture(autouse=True)
def _default_language() -> Any:
    """Every test starts in the default language: a request of an earlier test may have left another active,
    and names staff write (tiers, rewards) are stored and read per language."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Any:
    """Rate limits count in the cache: every test starts with none used. The process's snapshots of programme
    settings (config/snapshots.py) start empty too: an earlier test's rolled-back rows sent no signal."""
    from django.core.cache import cache

    from config.snapshots import Snapshot

    cache.clear()
    Snapshot.clear_all()
    yield
    cache.clear()
    Snapshot.clear_all()


def give_two_factor(user: Any) -> str:
    """Staff need an authenticator app (TOTP) for the admin; returns the secret to compute codes from."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


@pytest.fixture
def admin_user(admin_user: Any) -> Any:
    """pytest-django's superuser, with the two-factor authentication the admin demands of staff."""
    give_two_factor(admin_user)
    return admin_user


@pytest.fixture
def programme(db: Any) -> Programme:
    return Programme.load()


@pytest.fixture
def tiers(db: Any) -> list[Tier]:
    """Bronze 0, Silver 1000 (x1.25), Gold 5000 (x1.5)."""
    return [
        TierFactory(name="Bronze", threshold=0, multiplier=Decimal("1.00"), colour="#9a5b2e"),
        TierFactory(name="Silver", threshold=1000, multiplier=Decimal("1.25"), colour="#6e7781"),
        TierFactory(name="Gold", threshold=5000, multiplier=Decimal("1.50"), colour="#a67c00"),
    ]


@pytest.fixture
def shop(db: Any) -> Shop:
    return ShopFactory(name="Nordlys Sport", slug="nordlys-sport")


@pytest.fixture
def other_shop(db: Any) -> Shop:
    return ShopFactory(name="Fjord Outdoor", slug="fjord-outdoor")


@pytest.fixture
def member(db: Any):
    return MemberFactory(user__email="kari@example.com", user__first_name="Kari")


def api_client_for(shop: Shop) -> APIClient:
    _key, raw = api_key_create(shop=shop)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api(shop: Shop) -> APIClient:
    return api_client_for(shop)


@pytest.fixture
def other_api(other_shop: Shop) -> APIClient:
    return api_client_for(other_shop)


def make_order(
    shop: Shop,
    *,
    order_id: str = "1001",
    email: str = "kari@example.com",
    amount: str = "1000.00",
    occurred_at: dt.datetime | None = None,
    discount_codes: tuple[str, ...] = (),
    **member: str,
):
    """Record an order through the service, as the API would."""
    from django.utils import timezone

    return order_record(
        shop=shop,
        order=OrderInput(
            order_id=order_id,
            member=MemberRef(email=email, **member),
            amount=Decimal(amount),
            currency=shop.currency,
            occurred_at=occurred_at or timezone.now(),
            items=(OrderItem(sku="SKU-1", name="Shoe", category="running", quantity=1, unit_price=Decimal(amount)),),
            discount_codes=discount_codes,
        ),
    )


def order_payload(
    order_id: str = "1001", email: str = "kari@example.com", amount: str = "1000.00", **extra: Any
) -> dict:
    return {
        "order_id": order_id,
        "member": {"email": email},
        "amount": amount,
        "currency": "NOK",
        "occurred_at": "2026-11-20T12:00:00+01:00",
        "items": [{"sku": "SKU-1", "name": "Shoe", "category": "running", "quantity": 1, "unit_price": amount}],
        **extra,
    }
