"""Importing order history: the same points as live orders, idempotent, set-based, and clear about bad lines."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.snapshots import Snapshot
from loyalty.ledger import ledger_mismatches, lot_mismatches
from loyalty.models import EarningRule, EntryKind, LedgerEntry, Order, PointsAccount, PointsLot, RuleKind
from loyalty.orders import import_files, imports, order_rows_read, orders_import, orders_import_file
from members.models import Member, Message
from tests.conftest import api_client_for, make_order

pytestmark = pytest.mark.django_db
DECEMBER_10 = "2026-12-10T12:00:00+01:00"


def jsonl(*orders: dict) -> io.StringIO:
    return io.StringIO("".join(json.dumps(order) + "\n" for order in orders))


def order(order_id: str, email: str, amount: str = "1000.00", when: str = DECEMBER_10, **extra) -> dict:
    return {
        "order_id": order_id, "member": {"email": email}, "amount": amount, "currency": "NOK", "occurred_at": when,
        "items": [{"sku": "SKU-1", "name": "Shoe", "category": "running", "quantity": 1, "unit_price": amount}],
        **extra,
    }  # fmt: skip


def run_import(shop, stream: io.StringIO, fmt: str = "jsonl", batch: int = 500):
    return orders_import(shop=shop, rows=order_rows_read(stream, format=fmt), batch=batch)


@pytest.fixture
def december(time_machine):
    time_machine.move_to(dt.datetime(2026, 12, 20, tzinfo=dt.UTC))


@pytest.fixture
def double_december(db):
    return EarningRule.objects.create(
        name="Double December", kind=RuleKind.MULTIPLIER, multiplier=Decimal("2"),
        starts_at=dt.datetime(2026, 12, 1, tzinfo=dt.UTC), ends_at=dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip


def test_an_imported_order_earns_exactly_what_the_same_order_earns_live(shop, tiers, december, double_december):
    when = dt.datetime.fromisoformat(DECEMBER_10)
    live = make_order(shop, order_id="L-1", email="live@example.com", occurred_at=when)
    report = run_import(shop, jsonl(order("I-1", "imported@example.com")))

    assert (report.imported, report.errors) == (1, [])
    imported = LedgerEntry.objects.get(order__external_id="I-1")
    live_entry = LedgerEntry.objects.get(order=live.order)
    assert imported.points == live_entry.points == 2000  # the December rule applied to both
    assert imported.tier_points == live_entry.tier_points
    assert imported.detail["rules"] == live_entry.detail["rules"]
    assert PointsLot.objects.get(entry=imported).remaining == 2000
    assert ledger_mismatches() == [] and lot_mismatches() == []


def test_running_the_same_file_twice_imports_nothing_the_second_time(shop, tiers, programme, december):
    rows = [order(f"I-{n}", f"m{n % 7}@example.com", amount=f"{100 + n}.00") for n in range(60)]
    first = run_import(shop, jsonl(*rows), batch=25)
    balances = dict(PointsAccount.objects.values_list("member_id", "balance"))
    second = run_import(shop, jsonl(*rows), batch=25)

    assert (first.imported, first.members_enrolled, second.imported, second.already) == (60, 7, 0, 60)
    assert dict(PointsAccount.objects.values_list("member_id", "balance")) == balances
    assert Order.objects.count() == 60 and LedgerEntry.objects.count() == 60
    assert sum(balances.values()) == first.points == sum(100 + n for n in range(60))
    assert ledger_mismatches() == [] and lot_mismatches() == []


def test_a_shop_resending_an_imported_order_through_the_api_gets_the_first_answer(api, shop, tiers, december):
    run_import(shop, jsonl(order("I-1", "kari@example.com")))
    response = api.post("/api/v1/orders/", order("I-1", "kari@example.com"), format="json")
    assert response.status_code == 200
    assert response.json()["points_awarded"] == 1000
    assert LedgerEntry.objects.count() == 1


def test_bad_lines_are_reported_by_number_and_the_good_ones_imported(shop, tiers, programme, december):
    make_order(shop, order_id="TAKEN", email="kari@example.com", amount="10.00")
    stream = io.StringIO(
        json.dumps(order("OK-1", "ola@example.com")) + "\n"
        + "not json\n"
        + json.dumps(order("BAD-AMOUNT", "ola@example.com", amount="12,50")) + "\n"
        + json.dumps(order("NO-EMAIL", "")) + "\n"
        + json.dumps({**order("SEK", "ola@example.com"), "currency": "SEK"}) + "\n"
        + json.dumps(order("TAKEN", "kari@example.com", amount="99.00")) + "\n"
        + json.dumps(order("OK-1", "ola@example.com", amount="5.00")) + "\n"
    )  # fmt: skip
    report = run_import(shop, stream)

    assert report.imported == 1
    assert [(line, code, field) for line, code, _message, field in report.errors] == [
        (2, "invalid", None),
        (3, "invalid", "amount"),
        (4, "invalid", "email"),
        (5, "currency_mismatch", "currency"),
        (6, "idempotency_conflict", "order_id"),
        (7, "idempotency_conflict", "order_id"),
    ]
    assert set(Order.objects.values_list("external_id", flat=True)) == {"TAKEN", "OK-1"}


def test_a_csv_history_enrols_unknown_members_quietly_and_places_their_tier(shop, tiers, programme, december):
    stream = io.StringIO(
        "order_id,email,amount,currency,occurred_at,first_name\n"
        "C-1,Astrid@Example.com,4000.00,NOK,2026-11-01T10:00:00+01:00,Astrid\n"
        "C-2,astrid@example.com,2000.00,NOK,2026-11-15T10:00:00+01:00,Astrid\n"
    )
    report = run_import(shop, stream, fmt="csv")

    assert (report.imported, report.members_enrolled) == (2, 1)
    member = Member.objects.select_related("user").get()
    assert (member.user.email, member.user.first_name, member.source) == ("astrid@example.com", "Astrid", "import")
    account = PointsAccount.objects.select_related("tier").get(member=member)
    assert (account.balance, account.tier.name) == (6000, "Gold")
    entries = list(LedgerEntry.objects.filter(member=member).order_by("effective_at"))
    assert [e.balance_after for e in entries] == [4000, 6000]  # oldest order first
    # Both earned at the tier held before the import (its tiers are placed after each batch), and say so.
    assert list(Order.objects.order_by("occurred_at").values_list("tier__name", flat=True)) == ["Bronze", "Bronze"]
    assert not Message.objects.filter(member=member).exists()  # history sends nothing


def test_a_rule_cap_per_member_holds_across_imported_orders(shop, tiers, programme, december):
    EarningRule.objects.create(
        name="Welcome bonus", kind=RuleKind.BONUS, bonus_points=100, cap_per_member=150,
        starts_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    )  # fmt: skip
    run_import(shop, jsonl(*[order(f"I-{n}", "kari@example.com", amount="10.00") for n in range(3)]), batch=2)
    bonus = [e.detail["rules"][0]["points"] for e in LedgerEntry.objects.order_by("id") if e.detail.get("rules")]
    assert bonus == [100, 50]


def test_an_import_makes_the_same_number_of_queries_for_5_or_50_orders(shop, tiers, programme, december):
    def queries(count: int, prefix: str) -> int:
        rows = [order(f"{prefix}-{n}", f"{prefix}{n}@example.com") for n in range(count)]
        Snapshot.clear_all()  # both read the entry tier
        with CaptureQueriesContext(connection) as captured:
            run_import(shop, jsonl(*rows), batch=1000)
        return len(captured)

    assert queries(5, "a") == queries(50, "b")  # (SQLite splits inserts of more rows by its parameter limit)


def test_the_command_reports_and_fails_on_refused_lines(shop, tiers, programme, december, tmp_path):
    path = tmp_path / "history.jsonl"
    path.write_text(json.dumps(order("I-1", "kari@example.com")) + "\n" + json.dumps(order("I-2", "x")) + "\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("import_orders", str(path), shop=shop.slug, stdout=out, stderr=err)
    assert exit_.value.code == 1
    assert "1 imported" in out.getvalue() and "line 2: invalid (email)" in err.getvalue()
    assert LedgerEntry.objects.filter(kind=EntryKind.EARN).count() == 1


# --- The shop reporting the same orders live while the history is imported ----------------------------------


def live_order_meanwhile(monkeypatch, post, rows: list[dict]) -> list[str]:
    """Each time a batch has read which of its orders exist and is about to lock its members' accounts, the shop
    reports the next of ``rows`` live through ``post`` (as its webhook would). Returns the ids reported live."""
    real_lock, pending, reported = imports.accounts_lock, iter(rows), []

    def lock_after_a_live_order(**kwargs):
        row = next(pending)
        assert post(row) == 201
        reported.append(row["order_id"])
        return real_lock(**kwargs)

    monkeypatch.setattr(imports, "accounts_lock", lock_after_a_live_order)
    return reported


def assert_each_order_earned_once(email: str) -> None:
    """Every order of the member has one earn entry, and the balance is what the orders say they awarded."""
    orders = Order.objects.filter(member__user__email=email)
    earned = LedgerEntry.objects.filter(kind=EntryKind.EARN, member__user__email=email)
    assert sorted(earned.values_list("order__external_id", flat=True)) == sorted(
        o.external_id for o in orders if o.points_awarded
    )
    account = PointsAccount.objects.get(member__user__email=email)
    assert account.balance == sum(o.points_awarded for o in orders) > 0
    assert ledger_mismatches() == [] and lot_mismatches() == []


def test_an_order_the_shop_reports_live_while_a_batch_is_read_counts_as_already_there(
    api, shop, tiers, programme, december, monkeypatch
):
    rows = [order(f"I-{n}", "kari@example.com") for n in range(3)]
    reported = live_order_meanwhile(
        monkeypatch, lambda row: api.post("/api/v1/orders/", row, format="json").status_code, rows
    )
    report = run_import(shop, jsonl(*rows))

    assert reported == ["I-0"]  # one try: the batch was not undone and read again
    assert (report.imported, report.already, report.errors) == (2, 1, [])
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["I-0", "I-1", "I-2"]
    assert report.points == sum(Order.objects.exclude(external_id="I-0").values_list("points_awarded", flat=True))
    assert_each_order_earned_once("kari@example.com")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_order_committed_live_from_another_connection_mid_batch_counts_as_already_there(
    shop, tiers, programme, december, monkeypatch
):
    make_order(shop, order_id="K-0", email="kari@example.com", amount="0.00")  # Kari is a member already
    key = api_client_for(shop)
    rows = [order(f"I-{n}", "kari@example.com") for n in range(3)]

    def post_from_another_connection(row: dict) -> int:
        answer: list[int] = []

        def webhook() -> None:
            try:
                answer.append(key.post("/api/v1/orders/", row, format="json").status_code)
            finally:
                connection.close()

        thread = threading.Thread(target=webhook)
        thread.start()
        thread.join(timeout=30)
        return answer[0]

    reported = live_order_meanwhile(monkeypatch, post_from_another_connection, rows)
    report = run_import(shop, jsonl(*rows))

    assert reported == ["I-0"]
    assert (report.imported, report.already, report.errors) == (2, 1, [])
    assert sorted(Order.objects.values_list("external_id", flat=True)) == ["I-0", "I-1", "I-2", "K-0"]
    assert report.points == sum(
        Order.objects.filter(external_id__in=["I-1", "I-2"]).values_list("points_awarded", flat=True)
    )
    assert_each_order_earned_once("kari@example.com")


# --- Windows, the comparison with the recorded orders, and several writers --------------------------------------


def test_a_line_repeating_an_order_of_an_earlier_window_is_a_replay_or_a_conflict(shop, tiers, programme, december):
    rows = [order(f"I-{n}", f"m{n}@example.com") for n in range(4)]
    rows += [rows[0], {**rows[1], "amount": "999.00"}]  # lines 5 and 6: the first window's orders again
    report = orders_import(shop=shop, rows=order_rows_read(jsonl(*rows), format="jsonl"), batch=2, window=2)

    assert (report.imported, report.already) == (4, 1)
    assert [(line, code) for line, code, _message, _field in report.errors] == [(6, "idempotency_conflict")]
    assert Order.objects.count() == LedgerEntry.objects.count() == 4


def test_the_recorded_orders_are_found_by_id_for_one_shop_only(shop, other_shop, tiers, programme, december):
    mine = make_order(shop, order_id="A-1", email="kari@example.com").order
    make_order(other_shop, order_id="A-2", email="kari@example.com")

    assert imports.orders_known(shop=shop, order_ids={"A-1", "A-2", "A-3"}) == {"A-1": mine.fingerprint}
    assert imports.orders_known(shop=shop, order_ids={"A-2", "A-3"}) == {}  # the ids of the call before are gone


def test_an_import_stopped_midway_keeps_its_batches_and_the_next_run_finishes_it(
    shop, tiers, programme, december, monkeypatch
):
    rows = [order(f"I-{n}", f"m{n % 5}@example.com", amount=f"{200 + n}.00") for n in range(12)]
    real_write, written = imports._batch_write, []

    def stop_at_the_third_batch(**kwargs):
        if len(written) == 2:
            raise RuntimeError("the machine went down")
        written.append(real_write(**kwargs))
        return written[-1]

    monkeypatch.setattr(imports, "_batch_write", stop_at_the_third_batch)
    with pytest.raises(RuntimeError):
        orders_import(shop=shop, rows=order_rows_read(jsonl(*rows), format="jsonl"), batch=4)
    assert Order.objects.count() == 8  # the two finished batches stay
    monkeypatch.undo()
    report = run_import(shop, jsonl(*rows), batch=4)

    assert (report.imported, report.already) == (4, 8)
    assert Order.objects.count() == LedgerEntry.objects.count() == 12
    assert sum(PointsAccount.objects.values_list("balance", flat=True)) == sum(200 + n for n in range(12))
    assert ledger_mismatches() == [] and lot_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writers_import_what_one_writer_imports(shop, tiers, programme, december, monkeypatch):
    forks, real_map = [], imports.ForkedMap

    def forked_map(*args, **kwargs):
        forks.append(kwargs["processes"])
        return real_map(*args, **kwargs)

    monkeypatch.setattr(imports, "ForkedMap", forked_map)

    def history(prefix: str) -> list[dict]:  # 12 members, 5 orders each, enough for some to climb a tier mid-file
        return [order(f"{prefix}-{n}", f"{prefix}{n % 12}@example.com", amount=f"{150 + 37 * n % 400}.00",
                      when=f"2026-11-{1 + n // 3:02d}T10:00:00+01:00") for n in range(60)]  # fmt: skip

    def import_(prefix: str, writers: int):
        rows = order_rows_read(jsonl(*history(prefix)), format="jsonl")
        return orders_import(shop=shop, rows=rows, batch=7, window=25, writers=writers)

    one, two = import_("a", writers=1), import_("b", writers=2)

    assert forks and set(forks) == {2}
    assert (
        (two.imported, two.members_enrolled, two.points)
        == (one.imported, one.members_enrolled, one.points)
        == (60, 12, one.points)
    )
    standing = {
        (email[0], email[1:]): (balance, tier)
        for email, balance, tier in PointsAccount.objects.values_list("member__user__email", "balance", "tier__name")
    }  # fmt: skip
    assert {key[1]: value for key, value in standing.items() if key[0] == "a"} == {
        key[1]: value for key, value in standing.items() if key[0] == "b"
    }
    # Members climbed mid-file, so their later orders earned more: where the reviews fall matters.
    assert set(Order.objects.values_list("tier__name", flat=True)) == {"Bronze", "Silver"}
    balances = dict(PointsAccount.objects.values_list("member_id", "balance"))
    again = import_("b", writers=2)
    assert (again.imported, again.already) == (0, 60)
    assert dict(PointsAccount.objects.values_list("member_id", "balance")) == balances
    assert ledger_mismatches() == [] and lot_mismatches() == []


# --- A history file: the second run's check of its lines over byte ranges ---------------------------------------


def test_a_file_is_cut_into_ranges_of_whole_lines_numbered_as_the_reader_numbers_them(tmp_path):
    path = tmp_path / "history.jsonl"
    lines = [json.dumps(order(f"I-{n}", f"m{n}@example.com")) if n % 7 else "" for n in range(40)]
    path.write_text("".join(line + "\n" for line in lines))
    data = path.read_bytes()

    for parts in (1, 2, 3, 5):
        ranges = import_files.line_ranges(path, parts=parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        assert all(end == following[0] for (_s, end, _n), following in itertools.pairwise(ranges))  # no gap or overlap
        for start, _end, number in ranges:
            assert start == 0 or data[start - 1 : start] == b"\n"
            assert number == data[:start].count(b"\n") + 1  # the line order_rows_read numbers so
    assert len(import_files.line_ranges(path, parts=3)) == 3
    path.write_bytes(data.replace(b"\n", b"\r\n"))
    assert import_files.line_ranges(path, parts=2) is None  # text mode would count a lone \r: no check


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_second_run_of_a_file_skips_its_replays_and_still_reports_its_conflicts(
    shop, tiers, programme, december, tmp_path, monkeypatch
):
    rows = [order(f"I-{n}", f"m{n % 9}@example.com", amount=f"{100 + n}.00") for n in range(60)]
    path = tmp_path / "history.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    checks, real_find = [], import_files._replays_find

    def replays_find(**kwargs):
        checks.append(len(kwargs["ranges"]))
        return real_find(**kwargs)

    monkeypatch.setattr(import_files, "_replays_find", replays_find)
    first = orders_import_file(shop=shop, path=path, format="jsonl", batch=7, writers=2)
    assert checks == [] and (first.imported, first.already) == (60, 0)  # a first import reads no line twice
    balances = dict(PointsAccount.objects.values_list("member_id", "balance"))

    again = orders_import_file(shop=shop, path=path, format="jsonl", batch=7, writers=2)
    assert checks == [2] and (again.imported, again.already, again.errors) == (0, 60, [])

    changed = [*rows[:50], {**rows[50], "amount": "999.00"}, *rows[51:], order("I-new", "m1@example.com"), {}]
    path.write_text("".join(json.dumps(row) + "\n" for row in changed))
    third = orders_import_file(shop=shop, path=path, format="jsonl", batch=7, writers=2)
    assert (third.imported, third.already) == (1, 59)
    assert [(line, code) for line, code, _message, _field in third.errors] == [
        (51, "idempotency_conflict"), (62, "invalid")
    ]  # fmt: skip
    assert Order.objects.count() == LedgerEntry.objects.count() == 61
    balances[Member.objects.get(user__email="m1@example.com").pk] += Order.objects.get(
        external_id="I-new"
    ).points_awarded
    assert dict(PointsAccount.objects.values_list("member_id", "balance")) == balances
    assert ledger_mismatches() == [] and lot_mismatches() == []
