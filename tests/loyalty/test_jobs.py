"""Points lots and the scheduled jobs: FIFO spending, expiry, expiry warnings, tier review, birthdays."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import InterfaceError, OperationalError, connection
from django.test.utils import CaptureQueriesContext

from config.celery import app
from loyalty import tasks
from loyalty.campaigns.birthdays import birthday_bonuses
from loyalty.ledger import JobResult, expiry_warn, points_adjust, points_expire, points_redeem, tiers_by_threshold
from loyalty.messages import LoyaltyMessage
from loyalty.models import (
    BirthdayBonus,
    EntryKind,
    LedgerEntry,
    OutboxEvent,
    PointsAccount,
    PointsLot,
    Programme,
    WebhookDelivery,
    WebhookSubscription,
)
from loyalty.orders import refund_record
from loyalty.tiers import placement, tier_review
from members.messaging import messages_send_due
from members.models import Member, Message
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)


def ledger_ok() -> None:
    out = StringIO()
    call_command("check_ledger", stdout=out, stderr=StringIO())
    assert "Ledger OK" in out.getvalue()


def lots(member: Member) -> list[int]:
    return list(PointsLot.objects.filter(member=member).order_by("earned_at", "id").values_list("remaining", flat=True))


def balance(member: Member) -> int:
    return PointsAccount.objects.get(member=member).balance


@pytest.fixture
def expiring(programme):
    programme.points_expire_months = 12
    programme.save()
    return programme


def test_redemptions_spend_the_oldest_points_first_and_name_the_lots(shop, tiers, programme):
    make_order(shop, order_id="1", amount="100.00", occurred_at=T0)
    make_order(shop, order_id="2", amount="200.00", occurred_at=T0 + dt.timedelta(days=30))
    member = Member.objects.get()
    first, second = PointsLot.objects.order_by("earned_at")
    entry = points_redeem(member=member, points=150)
    assert lots(member) == [0, 150]
    assert entry.detail["lots"] == [[first.pk, 100], [second.pk, 50]]
    ledger_ok()


def test_a_credit_after_a_clawback_into_the_negative_pays_the_debt_first(shop, tiers, programme):
    make_order(shop, order_id="1", amount="100.00")
    member = Member.objects.get()
    points_redeem(member=member, points=100)
    refund_record(shop=shop, order_id="1", refund_id="r1", amount=Decimal("100.00"))
    assert balance(member) == -100
    points_adjust(member=member, points=150, staff=None, reason="Goodwill")
    assert balance(member) == 50 and lots(member)[-1] == 50
    ledger_ok()


def test_points_expire_oldest_first_after_the_configured_months(shop, tiers, expiring):
    with time_machine.travel(T0, tick=False):
        make_order(shop, order_id="1", amount="100.00", occurred_at=T0)
    with time_machine.travel(T0 + dt.timedelta(days=180), tick=False):
        make_order(shop, order_id="2", amount="50.00", occurred_at=T0 + dt.timedelta(days=180))
        member = Member.objects.get()
        points_redeem(member=member, points=30)  # from the oldest lot: 70 of it left
    first_lot = PointsLot.objects.order_by("earned_at").first()

    with time_machine.travel(T0 + dt.timedelta(days=364), tick=False):
        assert points_expire().members == 0  # not yet
    with time_machine.travel(T0 + dt.timedelta(days=366), tick=False):
        result = points_expire()
        assert (result.members, result.points) == (1, 70)
        assert points_expire().members == 0  # idempotent
    expiry = LedgerEntry.objects.get(kind=EntryKind.EXPIRE)
    assert expiry.points == -70 and expiry.detail["lots"] == [[first_lot.pk, 70]]
    assert balance(member) == 50
    ledger_ok()
    with time_machine.travel(T0 + dt.timedelta(days=180 + 366), tick=False):
        assert points_expire().points == 50
    assert balance(member) == 0
    ledger_ok()


def test_expiry_tells_the_shops_webhooks_what_each_member_lost(shop, tiers, expiring):
    WebhookSubscription.objects.create(shop=shop, url="http://127.0.0.1:9/hook", secret="s", events=["points.changed"])
    with time_machine.travel(T0, tick=False):
        make_order(shop, order_id="1", amount="100.00", occurred_at=T0)
        make_order(shop, order_id="2", amount="40.00", email="other@example.com", occurred_at=T0)
    with time_machine.travel(T0 + dt.timedelta(days=180), tick=False):
        points_redeem(member=Member.objects.get(user__email="other@example.com"), points=15)
    before = set(OutboxEvent.objects.values_list("pk", flat=True))
    with time_machine.travel(T0 + dt.timedelta(days=366), tick=False):
        assert points_expire() == JobResult(members=2, points=125)

    events = OutboxEvent.objects.exclude(pk__in=before).order_by("pk")
    expiries = LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).select_related("member").order_by("member_id")
    assert [(e.type, e.payload) for e in events] == [
        ("points.changed", {"member_id": str(entry.member.public_id), "entry_id": entry.pk, "kind": "expire",
                            "points": entry.points, "balance_after": 0, "order_id": None, "refund_id": None,
                            "shop": None})
        for entry in expiries
    ]  # fmt: skip
    assert sorted(entry.points for entry in expiries) == [-100, -25]
    assert WebhookDelivery.objects.filter(event__in=events).count() == 2


def test_expiry_empties_each_due_lot_and_records_what_it_lost_as_breakage(shop, tiers, expiring):
    with time_machine.travel(T0, tick=False):
        make_order(shop, order_id="1", amount="100.00", occurred_at=T0)
    with time_machine.travel(T0 + dt.timedelta(days=180), tick=False):
        make_order(shop, order_id="2", amount="50.00", occurred_at=T0 + dt.timedelta(days=180))
        points_redeem(member=Member.objects.get(), points=30)  # 70 of the first lot left
    with time_machine.travel(T0 + dt.timedelta(days=366), tick=False):
        points_expire()
        points_expire()  # a second run takes nothing more and counts nothing twice
    due, later = PointsLot.objects.order_by("earned_at")
    assert (due.remaining, due.expired) == (0, 70)  # the 30 spent are not breakage
    assert (later.remaining, later.expired) == (50, 0)
    ledger_ok()


def test_without_an_expiry_setting_points_never_expire(shop, tiers, programme):
    make_order(shop, order_id="1", amount="100.00", occurred_at=T0)
    with time_machine.travel(T0 + dt.timedelta(days=3650), tick=False):
        assert points_expire().members == 0


def test_members_are_warned_once_before_points_expire(shop, tiers, expiring, mailoutbox):
    with time_machine.travel(T0, tick=False):
        make_order(shop, order_id="1", amount="100.00", occurred_at=T0)
    member = Member.objects.get()
    warnings = Message.objects.filter(kind=LoyaltyMessage.EXPIRY_WARNING)
    with time_machine.travel(T0 + dt.timedelta(days=300), tick=False):
        assert expiry_warn().members == 0  # more than 30 days ahead
    with time_machine.travel(T0 + dt.timedelta(days=340), tick=False):
        assert expiry_warn() == JobResult(members=1, points=100)
        assert expiry_warn().members == 0  # warned once
        messages_send_due()  # the worker renders the warning when it sends it
    assert [(m.member_id, m.channel) for m in warnings] == [(member.pk, "email")]
    assert "100 points expire on Jan. 15, 2027" in warnings.get().subject


def test_expiry_makes_the_same_number_of_queries_for_5_or_50_members(shop, tiers, expiring):
    def expire_for(count: int, start: int) -> int:
        with time_machine.travel(T0, tick=False):
            for n in range(start, start + count):
                make_order(shop, order_id=f"o{n}", amount="10.00", email=f"m{n}@example.com", occurred_at=T0)
        later = T0 + dt.timedelta(days=400 * (1 + start))
        with time_machine.travel(later, tick=False), CaptureQueriesContext(connection) as queries:
            assert points_expire().members == count
        return len(queries)

    assert expire_for(5, 0) == expire_for(50, 5)
    ledger_ok()


@pytest.fixture
def gold_member(shop, tiers, programme):
    programme.tier_window_months, programme.tier_grace_days = 12, 30
    programme.save()
    with time_machine.travel(T0, tick=False):
        make_order(shop, order_id="1", amount="6000.00", occurred_at=T0)  # Gold (5000)
    return Member.objects.get()


def tier(member: Member) -> str:
    return PointsAccount.objects.select_related("tier").get(member=member).tier.name


def test_tier_review_moves_down_one_level_after_the_grace_period(gold_member):
    assert tier(gold_member) == "Gold"
    out_of_window = T0 + dt.timedelta(days=400)  # the order left the 12-month window: 0 points
    with time_machine.travel(out_of_window, tick=False):
        assert tier_review() == []  # first seen below: the grace period starts
    with time_machine.travel(out_of_window + dt.timedelta(days=29), tick=False):
        assert tier_review() == []
    assert tier(gold_member) == "Gold"
    with time_machine.travel(out_of_window + dt.timedelta(days=31), tick=False):
        changes = tier_review()
    assert [(c.from_tier.name, c.to_tier.name, c.up) for c in changes] == [("Gold", "Silver", False)]
    assert tier(gold_member) == "Silver"  # one level only, though 0 points would be Bronze
    with time_machine.travel(out_of_window + dt.timedelta(days=45), tick=False):
        assert tier_review() == []  # just moved: a new grace period
    with time_machine.travel(out_of_window + dt.timedelta(days=62), tick=False):
        tier_review()
    assert tier(gold_member) == "Bronze"


def test_an_order_between_the_reviews_read_and_its_lock_keeps_the_member_on_their_tier(gold_member, shop, monkeypatch):
    out_of_window = T0 + dt.timedelta(days=400)
    with time_machine.travel(out_of_window, tick=False):
        tier_review()  # below Gold from now on
    lock = placement.accounts_lock

    def order_arrives_then_lock(**kwargs) -> dict:
        make_order(shop, order_id="2", amount="6000.00", external_id="cust-1")  # back above Gold
        return lock(**kwargs)

    monkeypatch.setattr(placement, "accounts_lock", order_arrives_then_lock)
    with time_machine.travel(out_of_window + dt.timedelta(days=31), tick=False):
        assert tier_review() == []  # the plain read saw 0 points; under the lock it counts the new order
    assert tier(gold_member) == "Gold"
    assert PointsAccount.objects.get(member=gold_member).below_tier_since is None


def test_tier_review_never_moves_down_soon_after_moving_up(shop, tiers, programme):
    programme.tier_window_months, programme.tier_grace_days = 1, 30
    programme.save()
    with time_machine.travel(T0, tick=False):
        make_order(shop, order_id="1", amount="1500.00", occurred_at=T0 - dt.timedelta(days=25))
    member = Member.objects.get()
    assert tier(member) == "Silver"
    with time_machine.travel(T0 + dt.timedelta(days=10), tick=False):
        tier_review()  # the order left the window, but the upgrade was 10 days ago
    with time_machine.travel(T0 + dt.timedelta(days=25), tick=False):
        tier_review()
    assert tier(member) == "Silver"


def test_tier_review_lifts_members_whose_points_reach_a_tier(shop, tiers, programme):
    member = MemberFactory()
    PointsAccount.objects.create(member=member, tier=tiers[0])
    LedgerEntry.objects.create(member=member, kind="adjust", points=10, balance_after=10, tier_points=1200)
    PointsAccount.objects.filter(member=member).update(balance=10)
    PointsLot.objects.create(member=member, entry=LedgerEntry.objects.get(), points=10, remaining=10, earned_at=T0)
    changes = tier_review()
    assert [(c.to_tier.name, c.up) for c in changes] == [("Silver", True)]


def test_a_review_that_changes_nobody_locks_no_account(gold_member, monkeypatch):
    """Members counting a grace period are decided from the plain read too: on a night that moves nobody, the
    review takes no lock at all."""
    out_of_window = T0 + dt.timedelta(days=400)
    with time_machine.travel(out_of_window, tick=False):
        tier_review()  # below Gold from now on: the grace period starts
    locked: list[list[int]] = []
    lock = placement.accounts_lock

    def counting_lock(**kwargs) -> dict:
        locked.append(list(kwargs["member_ids"]))
        return lock(**kwargs)

    monkeypatch.setattr(placement, "accounts_lock", counting_lock)
    with time_machine.travel(out_of_window + dt.timedelta(days=10), tick=False):
        assert tier_review() == []
    assert locked == []
    with time_machine.travel(out_of_window + dt.timedelta(days=31), tick=False):
        assert len(tier_review()) == 1  # the grace period is over: the one that moves is locked
    assert locked == [[gold_member.pk]]


def test_tier_review_costs_the_same_queries_for_ten_members_as_for_one(shop, tiers, programme):
    """Per batch, not per member: a member's tier is read from the ladder, never fetched one by one."""

    def members_on_silver(count: int) -> None:
        for _ in range(count):
            member = MemberFactory()
            PointsAccount.objects.create(member=member, tier=tiers[1])  # Silver, with no points: below it

    def review_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            tier_review()
        return len(captured)

    tiers_by_threshold()  # the ladder is kept for a few seconds per process: count it in neither run
    members_on_silver(1)
    one = review_queries()
    PointsAccount.objects.all().delete()
    members_on_silver(10)
    assert review_queries() == one


def test_a_birthday_bonus_pays_a_clawback_debt_first_like_any_credit(shop, tiers, programme):
    programme.birthday_bonus = 150
    programme.save()
    make_order(shop, order_id="1", amount="100.00")
    member = Member.objects.get()
    Member.objects.filter(pk=member.pk).update(birthday=dt.date(1990, 11, 24))
    points_redeem(member=member, points=100)
    refund_record(shop=shop, order_id="1", refund_id="r1", amount=Decimal("100.00"))
    assert balance(member) == -100

    assert birthday_bonuses(today=dt.date(2026, 11, 24)).members == 1
    assert balance(member) == 50 and lots(member)[-1] == 50  # 100 of the 150 paid the debt
    ledger_ok()


def test_birthday_bonus_once_a_year(tiers, programme):
    programme.birthday_bonus = 100
    programme.save()
    birthday_child = MemberFactory(birthday=dt.date(1990, 11, 24))
    MemberFactory(birthday=dt.date(1990, 11, 25))
    today = dt.date(2026, 11, 24)
    assert birthday_bonuses(today=today).members == 1
    assert birthday_bonuses(today=today).members == 0
    assert balance(birthday_child) == 100
    assert birthday_bonuses(today=dt.date(2027, 11, 24)).members == 1
    assert BirthdayBonus.objects.filter(member=birthday_child).count() == 2
    ledger_ok()


def test_a_leap_day_birthday_is_celebrated_on_28_february_in_other_years(tiers, programme):
    programme.birthday_bonus = 50
    programme.save()
    leapling = MemberFactory(birthday=dt.date(2000, 2, 29))
    assert birthday_bonuses(today=dt.date(2027, 2, 28)).members == 1
    assert birthday_bonuses(today=dt.date(2028, 2, 28)).members == 0  # 2028 has a 29 February
    assert birthday_bonuses(today=dt.date(2028, 2, 29)).members == 1
    assert balance(leapling) == 100


def test_the_jobs_run_as_management_commands(gold_member):
    for command in ["points_expire", "tier_review", "birthday_bonuses"]:
        out = StringIO()
        call_command(command, stdout=out)
        assert out.getvalue().startswith(command)
    assert Programme.load().pk == 1


def test_a_job_met_by_a_passing_database_fault_runs_again(monkeypatch, programme):
    runs = []

    def flaky(**kwargs):
        runs.append(kwargs)
        if len(runs) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return JobResult()

    monkeypatch.setattr(tasks, "points_expire", flaky)
    tasks.points_expire_task.apply(throw=False)  # as a worker runs it: the retry runs it again
    assert len(runs) == 2


def test_every_task_of_the_project_retries_passing_faults():
    app.loader.import_default_modules()  # every app's tasks module, as a worker loads them
    ours = {name: task for name, task in app.tasks.items() if name.split(".")[0] in {"loyalty", "members", "referrals"}}
    assert len(ours) >= 9
    for name, task in ours.items():
        assert {OperationalError, InterfaceError} <= set(task.autoretry_for), name
        assert task.acks_late, name  # and a task lost with its worker is handed out again


def test_every_beat_entry_names_a_task_a_worker_runs(settings):
    """A renamed task would leave beat sending a name no worker knows: the job would silently stop."""

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    nightly = {"loyalty.points_expire", "loyalty.expiry_warn", "loyalty.tier_review", "loyalty.birthday_bonuses"}
    through_the_day = {"loyalty.points_confirm", "loyalty.redemptions_expire"}  # pending points, checkout holds
    expected = nightly | through_the_day | {"loyalty.winback", "members.send_due_messages"}
    assert expected <= {e["task"] for e in schedule.values()}
    unknown = {name: entry["task"] for name, entry in schedule.items() if entry["task"] not in app.tasks}
    assert unknown == {}
