"""Moving from another programme: opening balances and tiers from a CSV file, idempotent by batch id, resumable,
with a dry run and every refused line's reason."""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import threading
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from loyalty.ledger import ledger_mismatches, lot_mismatches
from loyalty.models import (
    BalanceImport,
    EntryKind,
    LedgerEntry,
    OpeningBalance,
    PointsAccount,
    PointsLot,
    ShopCustomer,
    TierChange,
    TierChangeReason,
)
from loyalty.openings import (
    COLUMN_PRESETS,
    BatchRefused,
    HeaderError,
    balance_rows_read,
    balances_import,
    file_digest,
    importing,
)
from loyalty.tiers import tier_review
from members.models import Member, Message
from tests.conftest import make_order
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 12, 7, 12, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def _now(time_machine):
    time_machine.move_to(NOW, tick=False)


def run(text: str, *, batch_id: str = "smile-2026-12", columns: str = "klubb", dry_run: bool = False, **kwargs):
    rows = balance_rows_read(io.StringIO(text), columns=COLUMN_PRESETS[columns])
    return balances_import(rows=rows, batch_id=batch_id, digest=file_digest(text.encode()), dry_run=dry_run, **kwargs)


def balance(email: str) -> int:
    return PointsAccount.objects.get(member__user__email=email).balance


def test_opening_balances_are_entries_of_their_own_kind_with_lots_that_keep_the_files_expiry(tiers, programme):
    programme.points_expire_months = 12
    programme.save()
    report = run("email,points,expires_at\nkari@example.com,1200,2027-03-31\nola@example.com,300,\n")

    assert (report.imported, report.members_enrolled, report.points, report.refused) == (2, 2, 1500, [])
    kari = LedgerEntry.objects.get(member__user__email="kari@example.com")
    assert (kari.kind, kari.points, kari.tier_points) == (EntryKind.OPENING, 1200, 0)
    lot = PointsLot.objects.get(entry=kari)
    assert lot.remaining == 1200
    assert lot.expires_at.astimezone(dt.UTC) == dt.datetime(2027, 3, 31, 22, tzinfo=dt.UTC)  # end of the day, Oslo
    ola = PointsLot.objects.get(member__user__email="ola@example.com")
    assert ola.expires_at == NOW + dt.timedelta(days=365)  # no date in the file: the programme's rule
    assert ledger_mismatches() == [] and lot_mismatches() == []
    assert not Message.objects.exists()  # the enrolled members get no welcome message


def test_check_ledger_is_clean_after_an_import_onto_members_who_already_had_points(shop, tiers, capsys):
    make_order(shop, order_id="A-1", email="kari@example.com", amount="500.00")
    before = balance("kari@example.com")
    run("email,points\nkari@example.com,700\n")

    assert balance("kari@example.com") == before + 700
    call_command("check_ledger")  # raises CommandError on any mismatch
    assert "Ledger OK" in capsys.readouterr().out


def test_running_the_same_batch_again_does_nothing_and_says_so(tiers):
    text = "email,points\nkari@example.com,100\nola@example.com,200\n"
    first = run(text)
    second = run(text)

    assert (first.imported, second.finished_before, second.imported) == (2, True, 0)
    assert LedgerEntry.objects.count() == 2 and balance("ola@example.com") == 200


def test_the_same_batch_id_with_another_file_is_refused(tiers):
    run("email,points\nkari@example.com,100\n")
    with pytest.raises(BatchRefused) as refused:
        run("email,points\nkari@example.com,999\n")
    assert refused.value.code == "batch_conflict"
    assert balance("kari@example.com") == 100


def test_a_run_stopped_midway_resumes_and_applies_each_line_once(tiers, monkeypatch):
    text = "email,points\n" + "".join(f"m{n}@example.com,{10 + n}\n" for n in range(12))
    calls = {"n": 0}
    original = importing._batch_write

    def dies_on_the_third_batch(**kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process was killed
        return original(**kwargs)

    monkeypatch.setattr(importing, "_batch_write", dies_on_the_third_batch)
    with pytest.raises(KeyboardInterrupt):
        run(text, batch=4)
    assert LedgerEntry.objects.count() == 8 and BalanceImport.objects.get().finished_at is None

    monkeypatch.setattr(importing, "_batch_write", original)
    report = run(text, batch=4)
    assert (report.imported, report.already) == (4, 8)
    assert LedgerEntry.objects.count() == 12 == OpeningBalance.objects.count()
    assert sum(PointsAccount.objects.values_list("balance", flat=True)) == sum(10 + n for n in range(12))
    assert ledger_mismatches() == [] and lot_mismatches() == []


def test_a_dry_run_reports_what_would_change_and_changes_nothing(tiers):
    text = "email,points,tier\nkari@example.com,100,Gold\nbad,5,\nola@example.com,x,\n"
    report = run(text, dry_run=True)

    assert (report.dry_run, report.imported, report.members_enrolled, report.tiers_set) == (True, 1, 1, 1)
    assert [(r.line, r.code) for r in report.refused] == [(3, "invalid_email"), (4, "invalid_points")]
    assert not Member.objects.exists() and not LedgerEntry.objects.exists() and not BalanceImport.objects.exists()
    assert run(text).imported == 1  # the real run afterwards is not taken for a replay


def test_every_refused_line_has_a_stable_code_and_its_line_number(tiers, shop):
    MemberFactory(user__email="kari@example.com", phone="+4791234567")
    MemberFactory(user__email="ola@example.com")
    text = (
        "email,phone,external_id,points,tier,expires_at\n"
        "kari@example.com,,,10,,\n"  # 2: fine
        "KARI@example.com,,,10,,\n"  # 3: the same mailbox again
        ",,,10,,\n"  # 4
        "ny@example.com,,,-5,,\n"  # 5
        "ny@example.com,,,1 000,,\n"  # 6
        "per@example.com,,,10,Platinum,\n"  # 7
        "liv@example.com,,,10,,2020-01-01\n"  # 8: already past
        "liv@example.com,,,10,,next week\n"  # 9
        "ola@example.com,+4791234567,,10,,\n"  # 10: Kari's phone on Ola's line
        ",+4799999999,,10,,\n"  # 11: a phone no member has
        ",,C-1,10,,\n"  # 12: a customer id, and no shop given
        "sol@example.com,12,,10,,\n"  # 13
    )
    report = run(text)

    assert [(r.line, r.code) for r in report.refused] == [
        (3, "duplicate_in_file"), (4, "no_identifier"), (5, "invalid_points"), (6, "invalid_points"),
        (7, "unknown_tier"), (8, "invalid_expiry"), (9, "invalid_expiry"), (10, "identifier_conflict"),
        (11, "unknown_member"), (12, "no_identifier"), (13, "invalid_phone"),
    ]  # fmt: skip
    assert all(r.message for r in report.refused)
    assert report.imported == 1 and balance("kari@example.com") == 10


def test_members_are_found_by_phone_and_by_the_shops_customer_id(tiers, shop):
    MemberFactory(user__email="kari@example.com", phone="+4791234567")
    by_id = MemberFactory(user__email="ola@example.com")
    ShopCustomer.objects.create(shop=shop, member=by_id, external_id="C-77")
    report = run("phone,external_id,points\n+47 912 34 567,,40\n,C-77,60\n", shop=shop)

    assert (report.imported, report.members_enrolled, report.refused) == (2, 0, [])
    assert balance("kari@example.com") == 40 and balance("ola@example.com") == 60


def test_a_member_with_an_opening_balance_from_another_batch_is_refused(tiers):
    run("email,points\nkari@example.com,100\n", batch_id="first")
    report = run("email,points\nkari@example.com,500\n", batch_id="second")

    assert [(r.code, r.line) for r in report.refused] == [("already_opened", 2)]
    assert balance("kari@example.com") == 100


def test_an_imported_tier_is_set_with_history_and_held_through_the_review(tiers, time_machine):
    report = run("email,points,tier\nkari@example.com,100,gold\n")
    account = PointsAccount.objects.get(member__user__email="kari@example.com")

    assert (report.tiers_set, account.tier.name) == (1, "Gold")
    change = TierChange.objects.get(member=account.member)
    assert (change.reason, change.to_tier.name, change.up) == (TierChangeReason.OPENING, "Gold", True)
    assert account.tier_held_until == NOW + dt.timedelta(days=365)  # one tier window (12 months)
    for days in (1, 40, 200, 364):  # far past the 30-day grace period: still Gold
        time_machine.move_to(NOW + dt.timedelta(days=days), tick=False)
        tier_review()
    assert PointsAccount.objects.get(pk=account.pk).tier.name == "Gold"
    time_machine.move_to(NOW + dt.timedelta(days=366), tick=False)
    tier_review()
    time_machine.move_to(NOW + dt.timedelta(days=397), tick=False)
    tier_review()
    assert PointsAccount.objects.get(pk=account.pk).tier.name == "Silver"  # the hold ended: the ordinary rule


def test_a_member_already_on_a_higher_tier_keeps_it(tiers):
    member = MemberFactory(user__email="kari@example.com")
    PointsAccount.objects.create(member=member, tier=tiers[2])
    report = run("email,points,tier\nkari@example.com,100,Silver\n")

    assert (report.imported, report.tiers_set) == (1, 0)
    account = PointsAccount.objects.get(member=member)
    assert (account.tier.name, account.tier_held_until) == ("Gold", None)


def test_the_loyaltylion_preset_reads_its_column_names(tiers, shop):
    member = MemberFactory(user__email="kari@example.com")
    ShopCustomer.objects.create(shop=shop, member=member, external_id="9001")
    text = "merchant_id,email,points_approved,points_pending\n9001,kari@example.com,250,40\n"
    report = run(text, columns="loyaltylion", shop=shop)

    assert (report.imported, report.refused) == (1, []) and balance("kari@example.com") == 250


def test_the_command_imports_and_reports_refused_lines(tiers, tmp_path: Path, capsys):
    path = tmp_path / "smile.csv"
    path.write_text("\ufeffEmail,Points\nkari@example.com,300\nnope,1\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        call_command("import_balances", str(path), "--batch-id", "smile", "--columns", "smile")
    out = capsys.readouterr()
    assert "1 imported" in out.out and "line 3: invalid_email (email)" in out.err
    call_command("import_balances", str(path), "--batch-id", "smile", "--columns", "smile")
    assert "was imported before" in capsys.readouterr().out
    with pytest.raises(CommandError, match="batch_conflict"):
        path.write_text("email,points\nkari@example.com,301\n")
        call_command("import_balances", str(path), "--batch-id", "smile")


def upload(client, text: str, **fields):
    data = {"batch_id": "smile-2026-12", "columns": "klubb", **fields}
    data["file"] = SimpleUploadedFile("smile.csv", text.encode(), content_type="text/csv")
    return client.post("/admin/loyalty/balanceimport/add/", data)


def test_staff_try_the_upload_as_a_dry_run_then_import(admin_client, tiers):
    text = "email,points,tier\nkari@example.com,100,Gold\nola@example.com,abc,\n"
    dry = upload(admin_client, text, dry_run="on")

    assert dry.status_code == 200
    body = dry.content.decode()
    assert "Dry run: nothing was changed" in body and "invalid_points" in body
    assert 'download="refused-smile-2026-12.csv"' in body
    assert not LedgerEntry.objects.exists() and not BalanceImport.objects.exists()

    done = upload(admin_client, text)
    assert done.status_code == 200 and balance("kari@example.com") == 100
    record = BalanceImport.objects.get()
    assert record.report["imported"] == 1 and record.report["refused"][0]["code"] == "invalid_points"
    again = upload(admin_client, text.replace("100", "999"))
    assert "was imported from another file" in again.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_batch_at_once_apply_each_line_once(tiers):
    text = "email,points\n" + "".join(f"m{n}@example.com,{n + 1}\n" for n in range(40))
    MemberFactory(user__email="m0@example.com")  # some members exist, the rest are enrolled
    reports, errors = [], []

    def run_in_thread() -> None:
        try:
            reports.append(run(text, batch=10))
        except Exception as error:  # the assertion below shows it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run_in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sum(report.imported for report in reports) == 40  # between them; the rest already / before
    assert LedgerEntry.objects.filter(kind=EntryKind.OPENING).count() == 40 == OpeningBalance.objects.count()
    assert sum(PointsAccount.objects.values_list("balance", flat=True)) == sum(range(1, 41))
    assert ledger_mismatches() == [] and lot_mismatches() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_writer_processes_import_a_file_as_one_writer_would(tiers, monkeypatch):
    lines = [f"m{n}@example.com,,{n + 1},{'Silver' if n % 7 == 0 else ''}" for n in range(60)]
    lines[25] = ",+4790000025,5,"  # a phone no member has: refused
    lines[40] = "m40@example.com,,7,Platinum"  # no such tier: refused
    text = "email,phone,points,tier\n" + "\n".join(lines) + "\n"
    MemberFactory(user__email="m3@example.com")  # some members exist, the rest are enrolled
    forks = []
    real = multiprocessing.get_context
    monkeypatch.setattr(multiprocessing, "get_context", lambda method: forks.append(method) or real(method))

    report = run(text, batch=8, writers=2)

    assert forks == ["fork"]  # the batches went to the writer processes
    assert (report.imported, report.members_enrolled, report.tiers_set) == (58, 57, 9)
    assert [(refusal.line, refusal.code) for refusal in report.refused] == [
        (27, "unknown_member"),
        (42, "unknown_tier"),
    ]
    assert report.points == sum(range(1, 61)) - 26 - 41
    assert LedgerEntry.objects.filter(kind=EntryKind.OPENING).count() == 58 == OpeningBalance.objects.count()
    assert sum(PointsAccount.objects.values_list("balance", flat=True)) == report.points
    assert ledger_mismatches() == [] and lot_mismatches() == []
    assert run(text, batch=8, writers=2).finished_before


def test_the_member_sees_the_opening_balance_in_their_history(client, tiers):
    run("email,points\nkari@example.com,1200\n")
    client.force_login(Member.objects.get(user__email="kari@example.com").user)

    page = client.get("/activity/?kind=opening")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Points brought over from the club's previous programme" in body and "+1,200" in body


def test_a_staff_account_without_a_membership_is_refused_not_enrolled(tiers):
    UserFactory(email="boss@example.com", is_staff=True)
    report = run("email,points\nboss@example.com,100\nkari@example.com,5\n")

    assert [(r.line, r.code) for r in report.refused] == [(2, "not_enrollable")]
    assert report.imported == 1 and not Member.objects.filter(user__email="boss@example.com").exists()


def test_a_file_without_the_columns_is_refused_before_anything_is_recorded(tiers):
    with pytest.raises(HeaderError):
        run("mail,pts\nkari@example.com,100\n")
    assert not BalanceImport.objects.exists()
    assert run("email,points\nkari@example.com,100\n").imported == 1  # the same batch id, with a good file
