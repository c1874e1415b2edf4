"""Data migrations, run for real: back to the state before, then forward over rows made by today's code."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone, translation
from rest_framework.test import APIClient

from config.snapshots import Snapshot
from loyalty.models import (
    OPERATIONAL_SCOPES,
    ApiKey,
    ApiScope,
    EarningRule,
    EarningRuleUse,
    LedgerEntry,
    Order,
    OutboxEvent,
    PointsAccount,
    PointsLot,
    Refund,
    ReturnReason,
    RuleKind,
    Tier,
    TierChange,
    WebhookSubscription,
)
from loyalty.orders import refund_record
from loyalty.shops import api_key_create
from tests.conftest import make_order
from tests.factories import MemberFactory

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


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_0020_keeps_the_tier_moves_the_outbox_held_matching_tier_names_in_any_language(shop, tiers, programme):
    bronze, silver, _gold = tiers
    silver.name_nb = "Sølv"
    silver.save()
    kari = MemberFactory()
    migrate(("loyalty", "0019_segment_spend_currency"))

    start = timezone.now() - 40 * DAY

    def outbox(at: dt.datetime, **payload: str) -> None:
        OutboxEvent.objects.create(type="tier.changed", payload=payload, created_at=at)

    outbox(start, member_id=str(kari.public_id), **{"from": "Bronze", "to": "Sølv"})  # an order, in Norwegian
    outbox(start + 31 * DAY, member_id=str(kari.public_id), **{"from": "Silver", "to": "Bronze"})  # the review
    outbox(start + 32 * DAY, member_id=str(uuid.uuid4()), **{"from": "Bronze", "to": "Silver"})  # member erased
    outbox(start + 33 * DAY, member_id=str(kari.public_id), **{"from": "Bronze", "to": "Diamond"})  # tier deleted
    OutboxEvent.objects.create(type="points.changed", payload={"member_id": str(kari.public_id)}, created_at=start)
    migrate()

    moves = [
        (change.from_tier, change.to_tier, change.up, change.reason, change.changed_at)
        for change in TierChange.objects.filter(member=kari).order_by("changed_at")
    ]
    assert moves == [
        (bronze, silver, True, "order", start),
        (silver, bronze, False, "review", start + 31 * DAY),
        (bronze, None, False, "review", start + 33 * DAY),
    ]
    assert TierChange.objects.count() == 3


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_keys_and_subscriptions_made_before_0032_keep_seeing_every_member(shop, other_shop, tiers, programme):
    make_order(other_shop, order_id="B-1", email="kari@example.com")  # the other shop's customer, not this one's
    make_order(shop, order_id="A-1", email="ola@example.com")
    make_order(shop, order_id="A-2", email="per@example.com")  # two links without a shop's id: gone backwards
    _key, raw = api_key_create(shop=shop, name="before scopes")
    subscription = WebhookSubscription.objects.create(
        shop=shop, url="https://shop.example.com/hook", secret="whsec_s", events=["points.changed"]
    )

    migrate(("loyalty", "0031_webhook_hardening"))
    migrate()
    Snapshot.clear_all()  # the kept keys and subscriptions of before the migration

    key = ApiKey.objects.get(name="before scopes")
    assert key.scopes == [*OPERATIONAL_SCOPES, ApiScope.MEMBERS_ALL]
    assert WebhookSubscription.objects.get(pk=subscription.pk).club_wide
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/v1/members/?email=kari@example.com").json()["count"] == 1
    assert client.post("/api/v1/members/", {"email": "kari@example.com"}, format="json").status_code == 200
    assert api_key_create(shop=shop)[0].scopes == list(OPERATIONAL_SCOPES)  # new keys: no members:all


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_refunds_recorded_before_0037_happened_when_recorded_and_the_return_reasons_are_seeded(shop, tiers, programme):
    make_order(shop, order_id="1", email="kari@example.com", amount="1000.00")
    refund_record(shop=shop, order_id="1", refund_id="R1", amount=Decimal("100.00"))
    recorded = timezone.now() - 3 * DAY
    Refund.objects.update(created_at=recorded, occurred_at=timezone.now())

    migrate(("loyalty", "0036_replenishment"))
    migrate(("loyalty", "0037_returns"))

    assert Refund.objects.get().occurred_at == recorded
    reasons = ReturnReason.objects.order_by("position")
    assert [reason.code for reason in reasons] == [
        "too_small", "too_large", "damaged", "not_as_described", "changed_mind", "wrong_item", "late", "other"
    ]  # fmt: skip
    assert all(reason.label_nb and reason.label_da and reason.label_sv for reason in reasons)
    assert ReturnReason.objects.get(code="too_small").label_sv == "För liten"


NARROWED = [(EarningRuleUse, "rule"), (LedgerEntry, "member"), (LedgerEntry, "order"), (LedgerEntry, "refund"),
            (LedgerEntry, "staff"), (LedgerEntry, "corrects"), (Order, "member"), (Order, "shop"),
            (Order, "address_fingerprint"), (PointsLot, "member")]  # fmt: skip


def single_column(model: type, field: str) -> tuple[list[str], list[str]]:
    """The indexes of ``model`` on ``field``'s column alone, and its foreign key constraints."""
    column = model._meta.get_field(field).column
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    alone = [name for name, info in constraints.items() if info["columns"] == [column]]
    indexes = [name for name in alone if constraints[name]["index"] and not constraints[name]["unique"]]
    return indexes, [name for name in alone if constraints[name]["foreign_key"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_0040_drops_the_foreign_keys_own_indexes_and_keeps_the_constraints(shop, tiers, programme):
    make_order(shop, order_id="1", email="kari@example.com", amount="1000.00")  # an order, its entry and lot
    migrate(("loyalty", "0039_reminder_returned"))  # the test database was made at the latest: this is the reverse
    before = {(model, field): single_column(model, field) for model, field in NARROWED}
    assert all(indexes for indexes, _ in before.values())
    assert all(keys for (_, field), (_, keys) in before.items() if field != "address_fingerprint")

    migrate(("loyalty", "0040_narrower_indexes"))

    # the entries' orders, refunds, staff and corrected entries get partial indexes of the entries that have one
    partial = {field: [f"entry_{field}_idx"] for field in ("order", "refund", "staff", "corrects")}
    for (model, field), (_, keys) in before.items():
        expected = partial.get(field, []) if model is LedgerEntry else []
        assert single_column(model, field) == (expected, keys), (model, field)  # the same constraint
    assert PointsLot.objects.get().member.user.email == "kari@example.com"  # the rows are untouched
