"""Schemathesis fuzzes every operation of the shop API from its own OpenAPI schema, in-process (WSGI).

Positive and negative data, authenticated with a real shop API key: no response may be a 5xx, and every
response must be documented (status code, content type, headers and body schema).

The success paths are fuzzed too, not only the refusals: the shop the schema's examples describe is seeded, and
three in four schema-valid cases are aimed at it (tests/loyalty/fuzz_shop.py). Every response is counted by
operation and status; the run ends with each operation's share of 2xx answers to schema-valid requests, and
creating orders, refunds and members must succeed (201) at least as often as ``SUCCESS_FLOORS`` says.

``SCHEMATHESIS_MAX_EXAMPLES`` (default 25 per operation and mode) sets how hard it tries. The data follows
the Hypothesis profile (tests/conftest.py): fixed under "ci", fresh each run under "thorough" (`make fuzz`).
"""

from __future__ import annotations

import os
from collections import Counter
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

from loyalty.models import ApiScope
from loyalty.shops import api_key_create
from tests.conftest import RUN_REPORT
from tests.loyalty import fuzz_shop

MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "25"))

# The least share of schema-valid requests answered 201 Created (a new order, refund or member). Measured when
# set: 79 %, 66 % and 74 % in CI, 65 %, 57 % and 64 % in a `make fuzz` (8 %, 0 % and 17 % in CI before fuzz_shop).
SUCCESS_FLOORS = {
    "POST /api/v1/orders/": 0.5,
    "POST /api/v1/orders/{order_id}/refunds/": 0.25,
    "POST /api/v1/members/": 0.5,
}
SHARES_HEADING = "Schemathesis: schema-valid requests answered 2xx"
# (operation, schema-valid?) -> answers by status, for the operation under test.
RESPONSES: dict[tuple[str, bool], Counter[int]] = {}
CREATED: Counter[str] = Counter()  # requests, and those answered 201, over the run


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
    fuzz_shop.seed(shop=shop)
    _key, raw = api_key_create(shop=shop, scopes=ApiScope.values)  # every operation reached, any member seen
    return raw


@pytest.fixture
def success_shares(request):
    """Counts the answers to the operation under test; then reports its share of 2xx answers to schema-valid
    requests at the end of the run (and how many requests of the run created something), and holds the operations
    that create something to their floors."""
    RESPONSES.clear()
    yield
    report = request.config.stash.setdefault(RUN_REPORT, {}).setdefault(SHARES_HEADING, {})
    valid = {operation: statuses for (operation, positive), statuses in RESPONSES.items() if positive}
    for operation, statuses in valid.items():
        sent, succeeded = statuses.total(), sum(n for status, n in statuses.items() if 200 <= status < 300)
        created = f", 201 for {statuses[201]} ({statuses[201] / sent:.0%})" if operation in SUCCESS_FLOORS else ""
        report[operation] = f"{operation}: 2xx for {succeeded} of {sent} ({succeeded / sent:.0%}){created}"
    for statuses in RESPONSES.values():
        CREATED.update(requests=statuses.total(), created=statuses[201])
    report.pop("in all", None)
    report["in all"] = f"In all, 201 for {CREATED['created']} of {CREATED['requests']} requests, valid or not"
    for operation, statuses in valid.items():
        floor = SUCCESS_FLOORS.get(operation, 0)
        assert statuses[201] >= floor * statuses.total(), (
            f"{operation}: {statuses[201]} of {statuses.total()} schema-valid requests created something, not "
            f"{floor:.0%}; answers by status: {dict(statuses)}"
        )


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
# a member named by none of email, phone and customer id but whitespace (the schema's anyOf asks for one of them,
# not empty; text is trimmed), a lookup without any filter, text that is only
# whitespace (text is trimmed; Python's whitespace includes control characters JSON Schema's \s does not),
# a time that is no time in UTC (0001-01-01T00:00:00+03:00 falls before the year 1) or before 2000, a return
# reason not on the club's list, and a checkout redemption that gives both or neither of points and amount (one
# of two optional fields: a oneOf the generator fills in with extra properties).
REFUSED_ON_CONTENT = {
    "invalid_phone",
    "member_identifier_required",
    "filter_required",
    "blank",
    "overflow",
    "points_or_amount_required",
    "too_early",  # a date-time before 2000: valid RFC 3339, a mistake in a shop's data
    "unknown_return_reason",  # a refund's reason not on the club's list, which staff keep
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
schema.hook("map_case")(fuzz_shop.fit)


@schema.hook("after_call")
def count_the_response(context, case, response) -> None:
    valid = case.meta is not None and case.meta.generation.mode.is_positive
    RESPONSES.setdefault((case.operation.label, valid), Counter())[response.status_code] += 1


@schema.parametrize()
def test_every_api_operation_answers_within_its_documented_schema(case, api_key, success_shares):
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
    assert len(operations) == 18
    assert {("POST", "/api/v1/orders/"), ("POST", "/api/v1/events/"), ("POST", "/api/v1/points/preview/")} <= operations


def test_the_fixture_data_is_what_the_schema_examples_name(client, api_key):
    def get(path: str) -> dict:
        response = client.get(path, HTTP_AUTHORIZATION=f"Bearer {api_key}")
        assert response.status_code == 200, response.json()
        return response.json()

    order = get(f"/api/v1/orders/{fuzz_shop.ORDER_ID}/")
    assert order["member_id"] == fuzz_shop.MEMBER_ID and Decimal(order["amount"]) == Decimal(fuzz_shop.ORDER_AMOUNT)
    assert get(f"/api/v1/members/{fuzz_shop.MEMBER_ID}/")["email"] == fuzz_shop.MEMBER_EMAIL
    assert get(f"/api/v1/vouchers/{fuzz_shop.PATH_VALUES['code']}/")["valid"]
