"""End to end with a real Celery worker on the Redis at 127.0.0.1:6379 and the PostgreSQL test database.

Marked ``postgres`` (the worker process must reach the test's database, which SQLite in memory cannot
give it): skipped on SQLite with the reason, required under ``make test-postgres`` (CI's second pass),
where a Redis that is down fails these tests instead of hiding them.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import kombu.pools
import pytest
import redis
from django.conf import settings
from django.db import connection
from django.utils import timezone

from config.celery import app
from loyalty.ledger import ledger_mismatches, lot_mismatches
from loyalty.models import (
    EntryKind,
    LedgerEntry,
    Order,
    PointsAccount,
    PointsLot,
    Programme,
    ReminderStatus,
    ReplenishmentReminder,
    ReplenishmentRule,
    Shop,
    Tier,
    WebhookDelivery,
    WebhookSubscription,
)
from loyalty.tasks import points_expire_task, replenishment_remind_task
from members.messaging import message_templates_install
from members.models import Member, Message, MessageStatus, User
from members.services import member_enrol
from tests.conftest import make_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

REDIS_URL = os.environ.get("KLUBB_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
VISIBILITY_TIMEOUT = 3  # seconds before a task lost with its worker is handed out again


def broker_url(worker_id: str) -> str:
    """``REDIS_URL``'s database for this test process: under pytest-xdist (``-n``) each process has its own, the
    next ones after it (``gw1`` the one after ``REDIS_URL``'s), so no process's worker takes another's tasks."""
    base, _, number = REDIS_URL.rpartition("/")
    return f"{base}/{int(number) + (int(worker_id.removeprefix('gw')) if worker_id.startswith('gw') else 0)}"


@pytest.fixture
def broker(worker_id: str) -> Iterator[str]:
    """A clean Redis database as the broker, and this process sending tasks to it instead of running them."""
    url = broker_url(worker_id)
    client = redis.Redis.from_url(url)
    client.ping()  # Redis must be up: a failure here fails the test, it does not skip it
    client.flushdb()
    previous = {key: app.conf[key] for key in ("broker_url", "task_always_eager", "broker_transport_options")}
    app.conf.update(
        broker_url=url,
        task_always_eager=False,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
    )
    _forget_connections()  # a pool made earlier in the run would still send to the old broker
    yield url
    app.conf.update(previous)
    _forget_connections()
    client.flushdb()


def _forget_connections() -> None:
    """Drop the app's cached broker connections and producers, so the next send uses ``broker_url`` as it is now."""
    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    app.amqp._producer_pool = None
    kombu.pools.reset()  # kombu keeps producer pools per broker URL too, bound to the connections just closed


@pytest.fixture
def start_worker(broker: str, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    workers: list[subprocess.Popen] = []
    db = settings.DATABASES["default"]
    database_url = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"

    def start(**env: str) -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(workers)}.log").open("w")
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=1",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
            cwd=settings.BASE_DIR,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "config.settings.test",
                "DATABASE_URL": database_url,
                "CELERY_BROKER_URL": broker,
                "CELERY_TASK_ALWAYS_EAGER": "0",
                "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
                **env,
            },
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so a kill takes the pool's children too
        )  # fmt: skip
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
    connection.close()


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def expiring_members(count: int) -> None:
    """``count`` members, each with one lot of 100 points that expired yesterday (bulk, for speed)."""
    programme = Programme.load()
    programme.points_expire_months = 12
    programme.save()
    tier = Tier.objects.create(name="Bronze", threshold=0)
    earned = timezone.now() - dt.timedelta(days=400)
    users = User.objects.bulk_create([User(email=f"m{n}@example.com") for n in range(count)])
    members = Member.objects.bulk_create([Member(user=user) for user in users])
    PointsAccount.objects.bulk_create([PointsAccount(member=m, balance=100, tier=tier) for m in members])
    entries = LedgerEntry.objects.bulk_create(
        [
            LedgerEntry(member=m, kind=EntryKind.EARN, points=100, balance_after=100, effective_at=earned)
            for m in members
        ]
    )
    PointsLot.objects.bulk_create(
        [
            PointsLot(member_id=e.member_id, entry=e, points=100, remaining=100, earned_at=earned,
                      expires_at=earned + dt.timedelta(days=365))
            for e in entries
        ]
    )  # fmt: skip


def test_a_worker_killed_in_the_middle_of_the_expiry_job_leaves_every_point_expired_exactly_once(start_worker):
    expiring_members(1500)
    first = start_worker(KLUBB_JOB_BATCH="25")  # 60 short batches: time to kill it half-way
    points_expire_task.delay()

    expired = LedgerEntry.objects.filter(kind=EntryKind.EXPIRE)
    wait_for(lambda: expired.count() >= 100, timeout=60, what="the first worker to expire some batches")
    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool process die at once, mid-task
    first.wait(timeout=10)
    done_when_killed = expired.count()
    assert 0 < done_when_killed < 1500, done_when_killed

    # The task was acknowledged late: Redis hands it to the next worker once the visibility timeout passes.
    start_worker(KLUBB_JOB_BATCH="25")
    wait_for(lambda: expired.count() == 1500, timeout=90, what="a new worker to finish the redelivered job")
    time.sleep(1)  # and nothing more arrives
    assert expired.count() == 1500
    assert set(expired.values_list("points", flat=True)) == {-100}
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).values("member_id").distinct().count() == 1500
    assert PointsAccount.objects.exclude(balance=0).count() == 0
    assert ledger_mismatches() == [] and lot_mismatches() == []


def test_an_order_reaches_the_shops_webhook_through_a_real_worker(start_worker, shop, tiers, programme, httpserver):
    httpserver.expect_request("/klubb-events", method="POST").respond_with_data("ok")
    WebhookSubscription.objects.create(
        shop=shop, url=httpserver.url_for("/klubb-events"), secret="s3cret", events=["points.changed"]
    )
    start_worker()
    make_order(shop, order_id="W-1", amount="250.00")  # enqueues the delivery on commit, to Redis

    delivery = WebhookDelivery.objects.get()
    wait_for(lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered", timeout=30, what="delivery")
    request, _response = httpserver.log[0]
    assert request.headers["X-Klubb-Signature"].startswith("t=")
    assert b'"points":250' in request.data


def test_a_new_members_welcome_email_is_sent_by_a_real_worker(start_worker, programme, tiers):
    message_templates_install()  # a transactional test before this one flushed the migration's templates
    start_worker()
    member_enrol(email="ny@example.com", first_name="Nora", language="nb")  # queues, then enqueues the send on commit

    welcome = Message.objects.get(kind="welcome")
    assert welcome.status == MessageStatus.QUEUED  # this process only queued it
    wait_for(lambda: Message.objects.get(pk=welcome.pk).status == MessageStatus.SENT, timeout=30, what="the email")
    welcome.refresh_from_db()
    assert (welcome.channel, welcome.to, welcome.attempts) == ("email", "ny@example.com", 1)
    assert welcome.sent_at is not None and "Nora" in welcome.body


def due_reminders(count: int) -> None:
    """``count`` members who said yes to offers by email, each with one replenishment reminder due an hour ago."""

    shop = Shop.objects.create(name="Nordlys", slug="nordlys")
    rule = ReplenishmentRule.objects.create(name="Vitamins", category="vitamins", interval_days=30)
    now = timezone.now()
    users = User.objects.bulk_create([User(email=f"r{n}@example.com", first_name="Kari") for n in range(count)])
    members = Member.objects.bulk_create([Member(user=user, language="en", email_marketing=True) for user in users])
    orders = Order.objects.bulk_create(
        [
            Order(shop=shop, external_id=f"o{m.pk}", member=m, amount=199, currency="NOK", fingerprint="x",
                  occurred_at=now - dt.timedelta(days=26))
            for m in members
        ]
    )  # fmt: skip
    ReplenishmentReminder.objects.bulk_create(
        [
            ReplenishmentReminder(member_id=o.member_id, rule=rule, order=o, sku="VIT-D", name="Vitamin D",
                                  due_at=now - dt.timedelta(hours=1))
            for o in orders
        ]
    )  # fmt: skip


def test_replenishment_reminders_are_sent_once_by_two_workers_at_once_and_one_restarted_after_a_kill(start_worker):
    message_templates_install()  # a transactional test before this one flushed the migration's templates
    due_reminders(1500)
    first = start_worker(KLUBB_JOB_BATCH="25")  # 60 short batches each: time to kill it half-way
    start_worker(KLUBB_JOB_BATCH="25")
    replenishment_remind_task.delay()
    replenishment_remind_task.delay()  # the job twice at once, on the two workers

    claimed = ReplenishmentReminder.objects.exclude(status=ReminderStatus.SCHEDULED)
    wait_for(lambda: claimed.count() >= 100, timeout=60, what="the workers to send some batches")
    os.killpg(first.pid, signal.SIGKILL)  # one worker dies mid-batch: its batch's transaction rolls back
    first.wait(timeout=10)
    assert claimed.count() < 1500

    start_worker(KLUBB_JOB_BATCH="25")  # and a new one takes the redelivered job
    wait_for(lambda: claimed.count() == 1500, timeout=90, what="every reminder to be sent")
    time.sleep(2)  # and nothing more arrives
    reminders = ReplenishmentReminder.objects.all()
    assert set(reminders.values_list("status", flat=True)) == {ReminderStatus.SENT}
    messages = Message.objects.filter(kind="replenishment")
    assert messages.count() == 1500
    assert messages.values("key").distinct().count() == 1500
    assert messages.values("member_id").distinct().count() == 1500
    assert set(reminders.values_list("pk", flat=True)) == {
        int(key.removeprefix("replenishment:")) for key in messages.values_list("key", flat=True)
    }
