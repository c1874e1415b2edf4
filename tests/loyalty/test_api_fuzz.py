"""Schemathesis fuzzes every operation of the shop API from its own OpenAPI schema, in-process (WSGI).

Positive and negative data, authenticated with a real shop API key: no response may be a 5xx, and every
response must be documented (status code, content type, headers and body schema). Some real data exists (a
member, an order, a voucher) so that operations on them are reached, not only their 404s.

``SCHEMATHESIS_MAX_EXAMPLES`` (default 25 per operation and mode) sets how hard it tries. The data follows
the Hypothesis profile (tests/conftest.py): fixed under "ci", fresh each run under "thorough" (`make fuzz`).
"""

from __future__ import annotations

import os
from decimal import Decimal

import pytest
import schemathesis
from django.conf import settings
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import settings as hypothesis_settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

from loyalty.models import ApiScope, Reward
from loyalty.rewards.catalogue import reward_redeem
from loyalty.shops import api_key_create
from members.models import Member
from tests.conftest import make_order

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))


@pytest.fixture(autouse=True)
def _keep_the_test_databases_connection():
    """Schemathesis calls the WSGI handler itself, whose request signals would close the database connection
    (and with it the test's transaction, on PostgreSQL); Django's test client disconnects them the same way."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_key(db, shop, tiers, programme, settings):
    settings.KLUBB_API_RATE_LIMIT = ""  # the fuzzer sends far more than a shop would; rate limits are tested apart
    make_order(shop, order_id="F-1", amount="500.00", email="fuzz@example.com")
    member = Member.objects.get(user__email="fuzz@example.com")
    reward_redeem(member=member, reward=Reward.objects.create(name="Mug", points_cost=100))
    _key, raw = api_key_create(shop=shop, scopes=ApiScope.values)  # every operation reached, any member seen
    return raw


def load_schema() -> schemathesis.schemas.BaseSchema:
    """The schema as the app serves it at /api/schema/, fetched through the WSGI app (no server)."""
    loaded = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())
    loaded.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=hypothesis_settings.default.derandomize,
        database="none",
        # Unknown query parameters are ignored, by design (cache-busters, tracking): not negative data here.
        allow_extra_parameters=False,
        # Text never takes NUL characters (PostgreSQL cannot store them): a documented 400, not tested as valid.
        allow_x00=False,
    )
    return loaded


# Refusals of data the schema cannot describe: a string shaped like a phone number that is no phone number,
# a member named by none of email, phone and customer id, a lookup without any filter, text that is only
# whitespace (text is trimmed; Python's whitespace includes control characters JSON Schema's \s does not),
# a time that is no time in UTC (0001-01-01T00:00:00+03:00 falls before the year 1) or before 2000, and a
# checkout redemption that gives both or neither of points and amount (one of two optional fields: a oneOf the
# generator fills in with extra properties).
REFUSED_ON_CONTENT = {
    "invalid_phone",
    "member_identifier_required",
    "filter_required",
    "blank",
    "overflow",
    "points_or_amount_required",
    "too_early",  # a date-time before 2000: valid RFC 3339, a mistake in a shop's data
}


def positive_data_is_accepted(ctx, response, case) -> None:
    """Schemathesis' positive_data_acceptance, knowing the business rules (documented 422s: another currency, an
    order over the programme's limit or in the future, nobody to enrol) and the refusals on content above."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code in (401, 404, 409, 422):
        return
    if response.status_code == 400 and response.json().get("code") in REFUSED_ON_CONTENT:
        return
    assert response.status_code < 400, f"Schema-valid request refused: {response.status_code} {response.text[:500]}"


# Loaded at collection: schemathesis' lazy fixture loader does not work with pytest 9.
schema = load_schema()


@schema.parametrize()
def test_every_api_operation_answers_within_its_documented_schema(case, api_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {api_key}"},
        excluded_checks=[positive_data_acceptance],
        additional_checks=[positive_data_is_accepted],
    )


def test_ci_draws_the_same_cases_every_run_and_make_fuzz_fresh_ones():
    """A red CI run must be the code's doing, and fail again the same way: see tests/conftest.py."""
    assert hypothesis_settings.get_profile("ci").derandomize
    assert not hypothesis_settings.get_profile("thorough").derandomize
    assert schema.config.generation.deterministic is hypothesis_settings.default.derandomize
    fuzz = (settings.BASE_DIR / "Makefile").read_text().split("\nfuzz:")[1].split("\n\n")[0]
    assert "HYPOTHESIS_PROFILE=thorough" in fuzz and "test_api_fuzz.py" in fuzz and "test_ledger_stateful.py" in fuzz


def test_the_fuzzer_reaches_every_operation():
    operations = {(op.ok().method.upper(), op.ok().path) for op in schema.get_all_operations()}
    assert len(operations) == 17
    assert {("POST", "/api/v1/orders/"), ("POST", "/api/v1/events/"), ("POST", "/api/v1/points/preview/")} <= operations


def test_the_fixture_data_is_reachable(client, api_key):
    response = client.get("/api/v1/orders/F-1/", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    assert response.status_code == 200 and Decimal(response.json()["amount"]) == Decimal("500.00")
