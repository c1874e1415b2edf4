"""The ledger cannot be rewritten, and ``check_ledger`` notices when a balance drifts from it.

The model refuses updates and deletes on every database; on PostgreSQL a trigger refuses them
too, so raw SQL cannot rewrite what members were paid either.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from loyalty.ledger import points_redeem
from loyalty.models import EntryKind, ImmutableEntryError, LedgerEntry, PointsAccount
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(shop, tiers, programme, member):
    """Two entries for the member: an earn of 1000 and a redemption of 300."""
    make_order(shop, order_id="L-1", amount="1000.00")
    points_redeem(member=member, points=300)
    return list(LedgerEntry.objects.filter(member=member).order_by("id"))


def snapshot() -> list[tuple]:
    return list(LedgerEntry.objects.order_by("id").values_list("id", "kind", "points", "balance_after"))


def test_fixture_entries_are_an_earn_and_a_redemption(entries):
    assert [(e.kind, e.points, e.balance_after) for e in entries] == [
        (EntryKind.EARN, 1000, 1000),
        (EntryKind.REDEEM, -300, 700),
    ]


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE loyalty_ledgerentry SET points = 999999 WHERE id = %s",
        # Even a column that moves no points: the history members see is what they were paid.
        "UPDATE loyalty_ledgerentry SET reason = 'rewritten' WHERE id = %s",
    ],
)
def test_database_refuses_raw_update_of_an_entry(entries, sql):
    before = snapshot()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entries[0].pk])
    assert snapshot() == before


@pytest.mark.postgres
def test_database_refuses_raw_delete_of_entries(entries):
    before = snapshot()
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM loyalty_ledgerentry")
    assert snapshot() == before


def test_saving_an_existing_entry_is_refused(entries):
    before = snapshot()
    entry = entries[0]
    entry.points = 5000
    with pytest.raises(ImmutableEntryError):
        entry.save()
    assert snapshot() == before


def test_deleting_an_entry_is_refused(entries):
    before = snapshot()
    with pytest.raises(ImmutableEntryError):
        entries[1].delete()
    assert snapshot() == before


def test_queryset_update_of_entries_is_refused(entries, member):
    before = snapshot()
    with pytest.raises(ImmutableEntryError):
        LedgerEntry.objects.filter(member=member).update(points=1)
    with pytest.raises(ImmutableEntryError):
        LedgerEntry.objects.update(reason="rewritten")
    assert snapshot() == before


def test_bulk_update_of_entries_is_refused(entries):
    before = snapshot()
    for entry in entries:
        entry.points = 1
    # bulk_update runs in its own atomic block (without a savepoint), so give it one.
    with pytest.raises(ImmutableEntryError), transaction.atomic():
        LedgerEntry.objects.bulk_update(entries, ["points"])
    assert snapshot() == before


def test_queryset_delete_of_entries_is_refused(entries, member):
    before = snapshot()
    with pytest.raises(ImmutableEntryError):
        LedgerEntry.objects.filter(member=member).delete()
    with pytest.raises(ImmutableEntryError):
        LedgerEntry.objects.all().delete()
    assert snapshot() == before


def test_check_ledger_passes_when_every_balance_matches(entries, shop):
    MemberFactory(user__email="ola@example.com")
    make_order(shop, order_id="L-2", email="ola@example.com", amount="400.00")
    out = StringIO()
    call_command("check_ledger", stdout=out, stderr=StringIO())
    assert "Ledger OK" in out.getvalue()


def test_check_ledger_fails_naming_the_member_whose_balance_was_corrupted(entries, member, shop):
    MemberFactory(user__email="ola@example.com")
    make_order(shop, order_id="L-2", email="ola@example.com", amount="400.00")
    PointsAccount.objects.filter(member=member).update(balance=5000)
    err = StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    # manage.py exits with this code when the command raises.
    assert failure.value.returncode != 0
    assert "kari@example.com" in err.getvalue()
    assert "balance 5000, entries sum to 700" in err.getvalue()
    assert "ola@example.com" not in err.getvalue()


@pytest.mark.postgres
def test_database_refuses_truncate_of_the_ledger(entries):
    before = snapshot()
    with pytest.raises(DatabaseError, match="TRUNCATE"), transaction.atomic(), connection.cursor() as cursor:
        # The test database's sessions may truncate (tests/conftest.py); any other session may not.
        cursor.execute("SET LOCAL klubb.allow_ledger_truncate = 'off'")
        cursor.execute("TRUNCATE loyalty_ledgerentry CASCADE")
    assert snapshot() == before


@pytest.mark.postgres
def test_the_ledger_triggers_cover_update_delete_and_truncate(db):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT t.tgname, t.tgtype, t.tgenabled FROM pg_trigger t
            JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relname = 'loyalty_ledgerentry' AND NOT t.tgisinternal
            """
        )
        rows = {name: (tgtype, enabled) for name, tgtype, enabled in cursor.fetchall()}
    # pg_trigger.tgtype bits: 2 BEFORE, 8 DELETE, 16 UPDATE, 32 TRUNCATE.
    row_trigger, _ = rows["loyalty_ledgerentry_immutable"]
    truncate_trigger, _ = rows["loyalty_ledgerentry_refuse_truncate"]
    assert row_trigger & 2 and row_trigger & 8 and row_trigger & 16
    assert truncate_trigger & 2 and truncate_trigger & 32
    assert {enabled for _, enabled in rows.values()} == {"O"}  # enabled ("origin"), not disabled
