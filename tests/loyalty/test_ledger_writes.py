"""The order path's cheap statements: one write per entry on PostgreSQL, the member's locked read, ``row_exists``,
``row_insert``; and ``row_update``, the message worker's.

The Hypothesis state machine (``test_ledger_stateful.py``), the replay and the concurrency tests run through
the same code on PostgreSQL; these pin what each statement writes and reads, field by field.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from config.rows import row_exists, row_insert, row_update
from loyalty.ledger import account_lock, account_lock_by_email, ledger_append, points_redeem
from loyalty.models import EntryKind, LedgerEntry, Order, PointsAccount, PointsLot
from members.models import Message, MessageStatus
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db

LOT_FIELDS = ("entry_id", "points", "remaining", "earned_at", "expires_at", "available_at", "tier_points_waiting")
LOT_FIELDS += ("expired", "warned_at")


def _rows(member_id: int) -> tuple[list[tuple], list[tuple], tuple]:
    entries = LedgerEntry.objects.filter(member_id=member_id).order_by("id")
    lots = PointsLot.objects.filter(member_id=member_id).order_by("id")
    account = PointsAccount.objects.filter(member_id=member_id)
    return (
        list(entries.values_list("kind", "points", "balance_after", "tier_points", "effective_at", "detail", "reason")),
        list(lots.values_list(*LOT_FIELDS)),
        account.values_list("balance", "pending").get(),
    )


def test_a_credit_writes_its_entry_lot_and_balance(member, programme):
    programme.points_expire_months = 12
    programme.save()
    earned_at = timezone.now() - dt.timedelta(days=2)
    available_at = timezone.now() + dt.timedelta(days=14)
    with transaction.atomic():
        account = account_lock(member=member)
        entry = ledger_append(
            account=account, kind=EntryKind.BONUS, points=250, tier_points=100, tier_points_waiting=40,
            effective_at=earned_at, detail={"source": "test"}, reason="welcome", programme=programme,
            available_at=available_at,
        )  # fmt: skip
    entries, lots, balance = _rows(member.pk)
    assert entries == [(EntryKind.BONUS, 250, 250, 100, earned_at, {"source": "test"}, "welcome")]
    assert lots == [(entry.pk, 250, 250, earned_at, earned_at.replace(year=earned_at.year + 1), available_at, 40, 0,
                     None)]  # fmt: skip
    assert balance == (250, 250)  # all of it pending until available_at
    assert LedgerEntry.objects.get(pk=entry.pk).lot.pk == entry.lot.pk


def test_a_debit_writes_its_entry_and_balance_and_no_lot(member, programme):
    with transaction.atomic():
        ledger_append(account=account_lock(member=member), kind=EntryKind.BONUS, points=300, programme=programme)
    points_redeem(member=member, points=120)
    entries, lots, balance = _rows(member.pk)
    assert [entry[:3] for entry in entries] == [(EntryKind.BONUS, 300, 300), (EntryKind.REDEEM, -120, 180)]
    assert [lot[1:3] for lot in lots] == [(300, 180)]
    assert balance == (180, 0)


@pytest.mark.postgres
def test_on_postgresql_an_entry_its_lot_and_the_balance_are_one_statement(member, programme):
    with transaction.atomic():
        account = account_lock(member=member)
        with CaptureQueriesContext(connection) as queries:
            entry = ledger_append(account=account, kind=EntryKind.BONUS, points=75, programme=programme)
    assert len(queries) == 1, [query["sql"] for query in queries.captured_queries]
    assert entry.pk and entry.lot.pk and entry.lot.entry_id == entry.pk
    assert _rows(member.pk)[2] == (75, 0)


@pytest.mark.postgres
def test_on_postgresql_an_entry_is_not_written_for_an_account_that_is_not_there(member, programme):
    other = MemberFactory()
    with transaction.atomic():
        account = account_lock(member=other)
    PointsAccount.objects.filter(member=other).delete()
    with pytest.raises(PointsAccount.DoesNotExist), transaction.atomic():
        ledger_append(account=account, kind=EntryKind.BONUS, points=10, programme=programme)
    assert not LedgerEntry.objects.filter(member=other).exists()


def test_the_locked_read_by_email_returns_what_the_orm_reads(member, tiers, programme):
    with transaction.atomic():
        account_lock(member=member)
    PointsAccount.objects.filter(member=member).update(tier=tiers[1], balance=40)
    with transaction.atomic():
        found = account_lock_by_email(email="kari@example.com")
    expected = PointsAccount.objects.select_related("tier", "member__user").get(member=member)
    assert found is not None and not found._state.adding
    for got, want in ((found, expected), (found.member, expected.member), (found.member.user, expected.member.user),
                      (found.tier, expected.tier)):  # fmt: skip
        fields = [field.attname for field in type(want)._meta.concrete_fields]
        assert [getattr(got, name) for name in fields] == [getattr(want, name) for name in fields]
    assert found.tier.name == "Silver" and found.member.user.email == "kari@example.com"


def test_the_locked_read_by_email_finds_no_stranger_and_no_member_without_an_account(member):
    with transaction.atomic():
        assert account_lock_by_email(email="nobody@example.com") is None
        assert account_lock_by_email(email="kari@example.com") is None  # a member, but no account yet


def test_the_locked_read_by_email_without_a_tier(member):
    with transaction.atomic():
        account_lock(member=member)
        found = account_lock_by_email(email="kari@example.com")
    assert found is not None and found.tier is None and found.member.pk == member.pk


@pytest.mark.django_db(transaction=True)
def test_the_locked_read_is_refused_outside_a_transaction(member):
    with pytest.raises(RuntimeError):
        account_lock_by_email(email="kari@example.com")


def test_row_exists_answers_for_equal_null_and_any_of(shop, tiers, programme, member):
    make_order(shop, order_id="E-1")
    assert row_exists(Order, shop=shop.pk, external_id="E-1")
    assert not row_exists(Order, shop=shop.pk, external_id="E-2")
    assert row_exists(LedgerEntry, member=member.pk, corrects=None, kind=(EntryKind.EARN, EntryKind.BONUS))
    assert not row_exists(LedgerEntry, member=member.pk, kind=(EntryKind.REDEEM, EntryKind.EXPIRE))
    assert not row_exists(LedgerEntry, member=member.pk, order=None)
    order = Order.objects.get(external_id="E-1")
    assert row_exists(Order, pk=order.pk, shop=shop.pk)
    assert not row_exists(Order, pk=(order.pk + 1, order.pk + 2))


ORDER_FIELDS = [field.attname for field in Order._meta.concrete_fields if not field.primary_key]


def test_row_insert_writes_the_row_save_writes(shop, member, django_assert_num_queries):
    def order(external_id: str) -> Order:
        return Order(
            shop=shop, external_id=external_id, member=member, amount="120.50", currency="NOK",
            occurred_at=timezone.now(), items=[{"sku": "A", "quantity": 2, "unit_price": "60.25"}],
            response={"points_awarded": 120},
        )  # fmt: skip

    saved, inserted = order("SAVED"), order("INSERTED")
    saved.save(force_insert=True)
    with django_assert_num_queries(1):
        row_insert(inserted)

    assert inserted.pk and inserted.pk != saved.pk and not inserted._state.adding
    stored = Order.objects.values(*ORDER_FIELDS)
    written = {row["external_id"]: row for row in stored.filter(pk__in=[saved.pk, inserted.pk])}
    for name in ORDER_FIELDS:
        if name not in ("external_id", "occurred_at", "created_at"):
            assert written["INSERTED"][name] == written["SAVED"][name], name
    assert written["INSERTED"]["created_at"] is not None  # the field's default, as save applies it


def test_row_insert_of_a_model_signals_listen_to_goes_through_save(member, monkeypatch):
    # Referrals give every new member a code on post_save: row_insert must not skip a receiver.
    saved = []
    monkeypatch.setattr(type(member), "save", lambda self, **kwargs: saved.append(kwargs))
    row_insert(type(member)(user=member.user))
    assert saved == [{"force_insert": True}]


def test_row_update_writes_what_update_writes_where_every_condition_holds(member):
    def message(key: str) -> Message:
        return Message.objects.create(member=member, kind="welcome", channel="email", key=key, to="a@example.com")

    ours, theirs, done = message("1"), message("2"), message("3")
    claim, other = uuid.uuid4(), uuid.uuid4()
    Message.objects.filter(pk__in=[ours.pk, done.pk]).update(status=MessageStatus.SENDING, claim=claim)
    Message.objects.filter(pk=theirs.pk).update(status=MessageStatus.SENDING, claim=other)
    Message.objects.filter(pk=done.pk).update(status=MessageStatus.SENT)
    at = dt.datetime(2026, 11, 24, 12, 0, 30, 5, tzinfo=dt.UTC)
    changes = {"status": MessageStatus.FAILED, "send_after": at, "sent_at": None, "error": "Nei, ø"}

    for each in (ours, theirs, done):
        assert row_update(Message, changes, pk=each.pk, status=MessageStatus.SENDING, claim=claim) == (each is ours)

    rows = Message.objects.order_by("key").values_list("status", "send_after", "sent_at", "error", "claim")
    written, untouched, finished = rows
    assert written == (MessageStatus.FAILED, at, None, "Nei, ø", claim)
    assert untouched[0::3] == (MessageStatus.SENDING, "") and untouched[4] == other
    assert finished[0::3] == (MessageStatus.SENT, "")
