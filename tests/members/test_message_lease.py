"""A message is sent once however slow its provider: the lease a worker holds outlasts any send, is renewed when
each send starts, and a worker whose lease another took over neither sends nor records (members.messaging.send)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import zoneinfo
from pathlib import Path

import pytest
import requests
import time_machine
from django.conf import settings as django_settings
from django.core import mail
from django.core.mail import get_connection

from loyalty.messages import LoyaltyMessage
from members.messaging import SEND_LEASE, Outgoing, message_send, messages_claim, messages_queue, messages_send_due
from members.messaging import send as send_module
from members.models import ConsentSource, Message, MessageStatus
from members.services import member_erase, member_notifications_set
from members.sms import SmsError
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
DAYTIME = dt.datetime(2026, 11, 24, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Oslo"))
BACKEND = f"{__name__}.Provider"


class Provider:
    """An SMS provider that takes ``delay`` to answer; during that, ``meanwhile`` runs (another worker).
    ``steps``: a ``(delay, meanwhile)`` for each of the next sends in turn, before ``delay`` applies again."""

    sent: list[tuple[str, str]] = []  # (to, idempotency key) of every SMS that reached the provider
    traveller: time_machine.Coordinates | None = None
    delay = dt.timedelta(0)
    meanwhile: object = None
    steps: list[tuple[dt.timedelta, object]] = []
    fail: SmsError | None = None

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> str:
        Provider.sent.append((to, idempotency_key))
        delay, then = Provider.steps.pop(0) if Provider.steps else (Provider.delay, Provider.meanwhile)
        if delay and Provider.traveller is not None:
            Provider.traveller.shift(delay)
        if callable(then):
            Provider.meanwhile = None  # once: the other worker's own sends answer at once
            then()
        if Provider.fail is not None:
            raise Provider.fail
        return f"id-{len(Provider.sent)}"


@pytest.fixture
def provider(settings):
    settings.SMS_BACKEND = BACKEND
    Provider.sent, Provider.delay, Provider.meanwhile, Provider.fail = [], dt.timedelta(0), None, None
    Provider.steps = []
    with time_machine.travel(DAYTIME, tick=False) as traveller:
        Provider.traveller = traveller
        yield Provider
    Provider.traveller = None


def sms_to(*phones: str) -> list[int]:
    """Queue a tier-down SMS to a new member at each phone; their message ids."""
    for phone in phones:
        member = MemberFactory(phone=phone, notify_sms=True, notify_email=False)
        messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
    return list(Message.objects.order_by("id").values_list("id", flat=True))


def test_a_slow_send_late_in_a_batch_keeps_its_message_from_a_second_worker(provider):
    first, second = sms_to("+4790000001", "+4790000002")
    claim = messages_claim()  # worker A takes both, for one lease
    assert claim.message_ids == [first, second]
    # A's batch runs slowly: its first send starts near the end of the batch's lease and takes two minutes,
    # during which worker B sweeps. B finds the second message due (the batch's lease ran out), not the first.
    provider.traveller.shift(SEND_LEASE - dt.timedelta(minutes=1))
    provider.delay = dt.timedelta(minutes=2)
    outcomes_b: dict[str, int] = {}
    provider.meanwhile = lambda: outcomes_b.update(messages_send_due())

    outcomes_a = [message_send(message_id=message_id, claim=claim.token) for message_id in claim.message_ids]

    assert outcomes_a == ["sent", "skipped"]  # the second was B's by the time A came to it
    assert outcomes_b == {"sent": 1}
    assert sorted(to for to, _key in provider.sent) == ["+4790000001", "+4790000002"]  # each once
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}


@pytest.mark.parametrize("fresh", [send_module.MEMBERS_FRESH, 10 * SEND_LEASE.total_seconds()])
def test_a_message_another_worker_took_over_after_its_batch_was_read_is_skipped(provider, monkeypatch, fresh):
    """A's batch of three is read at once; while A sends the second, B takes the third (its lease from the claim ran
    out). A skips it: found no longer A's when the rest of the batch is read again (the default), or, had A kept
    what it read (``fresh``: longer than the lease), by the renewal before the send."""
    monkeypatch.setattr(send_module, "MEMBERS_FRESH", fresh)
    first, second, third = sms_to("+4790000011", "+4790000012", "+4790000013")
    outcomes_b: dict[str, int] = {}
    provider.steps = [
        (SEND_LEASE - dt.timedelta(minutes=1), None),  # the first send ends a minute before the claim's lease
        (dt.timedelta(minutes=2), lambda: outcomes_b.update(messages_send_due())),  # B sweeps during the second
    ]

    outcomes_a = messages_send_due()

    assert outcomes_a == {"sent": 2, "skipped": 1}
    assert outcomes_b == {"sent": 1}
    assert sorted(to for to, _key in provider.sent) == ["+4790000011", "+4790000012", "+4790000013"]  # each once
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert Message.objects.get(pk=third).attempts == 2  # claimed by A, then by B
    assert [first, second] == list(Message.objects.filter(attempts=1).order_by("id").values_list("id", flat=True))


def test_a_message_erased_after_its_batch_was_read_is_neither_sent_nor_recorded(provider):
    first, second = sms_to("+4790000014", "+4790000015")
    member = Message.objects.get(pk=second).member
    provider.meanwhile = lambda: member_erase(member=member, source=ConsentSource.PORTAL)  # during the first send

    assert messages_send_due() == {"sent": 1, "skipped": 1}

    assert [to for to, _key in provider.sent] == ["+4790000014"]
    erased = Message.objects.get(pk=second)
    assert (erased.status, erased.to, erased.body) == (MessageStatus.CANCELLED, "", "")
    assert erased.error == "The member deleted their account."
    assert Message.objects.get(pk=first).status == MessageStatus.SENT


def test_an_opt_out_during_a_slow_batch_reaches_the_messages_sent_after_it(provider):
    """What the worker read of its batch's members is read again once it is older than MEMBERS_FRESH seconds."""
    first, second, third = sms_to("+4790000016", "+4790000017", "+4790000018")
    members = {message.pk: message.member for message in Message.objects.select_related("member")}

    def opt_out(message_id: int) -> None:
        member_notifications_set(member=members[message_id], email=False, sms=False)

    provider.steps = [
        (dt.timedelta(seconds=1), lambda: opt_out(second)),  # seen only once the batch is read again
        (dt.timedelta(seconds=send_module.MEMBERS_FRESH), lambda: opt_out(third)),
    ]

    assert messages_send_due() == {"sent": 2, "cancelled": 1}

    assert [to for to, _key in provider.sent] == ["+4790000016", "+4790000017"]
    cancelled = Message.objects.get(pk=third)
    assert (cancelled.status, cancelled.error) == (MessageStatus.CANCELLED, "The member no longer gets this message.")
    assert Message.objects.get(pk=first).status == MessageStatus.SENT


def test_no_worker_takes_a_message_while_its_send_may_still_be_under_way(provider):
    (message_id,) = sms_to("+4790000003")
    claim = messages_claim()
    provider.traveller.shift(SEND_LEASE - dt.timedelta(minutes=1))  # its turn comes late in the batch
    provider.delay = SEND_LEASE - dt.timedelta(seconds=1)  # slower than any send the timeouts allow
    taken_meanwhile = []
    provider.meanwhile = lambda: taken_meanwhile.extend(messages_claim().message_ids)
    assert message_send(message_id=message_id, claim=claim.token) == "sent"
    assert taken_meanwhile == []
    assert [to for to, _key in provider.sent] == ["+4790000003"]


def test_a_worker_whose_lease_another_took_over_neither_sends_nor_records(provider):
    (message_id,) = sms_to("+4790000004")
    stale = messages_claim()
    provider.traveller.shift(SEND_LEASE + dt.timedelta(seconds=1))  # A stalled before sending
    fresh = messages_claim()
    assert fresh.message_ids == [message_id]

    assert message_send(message_id=message_id, claim=stale.token) == "skipped"
    assert provider.sent == []
    assert message_send(message_id=message_id, claim=fresh.token) == "sent"
    assert len(provider.sent) == 1


def test_an_outcome_that_comes_after_the_lease_was_taken_over_changes_nothing(provider):
    (message_id,) = sms_to("+4790000005")
    claim = messages_claim()
    taken_over = []
    # The provider answers only after the lease ran out and worker B took the message; then A hears "try later".
    provider.delay = SEND_LEASE + dt.timedelta(seconds=1)
    provider.meanwhile = lambda: taken_over.append(messages_claim())
    provider.fail = SmsError("46elks answered 503.", retry=True)

    assert message_send(message_id=message_id, claim=claim.token) == "retry"
    message = Message.objects.get()
    assert (message.status, message.claim, message.error) == (MessageStatus.SENDING, taken_over[0].token, "")
    assert message.send_after == DAYTIME + SEND_LEASE + dt.timedelta(seconds=1) + SEND_LEASE  # B's lease


def test_every_attempt_at_an_sms_carries_the_same_idempotency_key(provider):
    (message_id,) = sms_to("+4790000006")
    provider.fail = SmsError("46elks answered 503.", retry=True)
    assert messages_send_due() == {"retry": 1}
    provider.fail = None
    provider.traveller.move_to(Message.objects.get().send_after)
    assert messages_send_due() == {"sent": 1}
    assert [key for _to, key in provider.sent] == [f"klubb-message-{message_id}"] * 2


def test_every_attempt_at_an_email_carries_the_same_message_id(settings):
    settings.DEFAULT_FROM_EMAIL = "Nordlys Klubb <klubb@nordlys.example>"
    member = MemberFactory()
    messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
    messages_send_due()
    message = Message.objects.get()
    assert mail.outbox[0].message()["Message-ID"] == f"<klubb-message-{message.pk}@nordlys.example>"


# --- Timeouts shorter than the lease -----------------------------------------------------------------------


def test_email_and_sms_give_up_well_within_the_lease(settings, monkeypatch):
    assert settings.EMAIL_TIMEOUT and settings.SMS_TIMEOUT
    assert get_connection("django.core.mail.backends.smtp.EmailBackend").timeout == settings.EMAIL_TIMEOUT
    slowest_send = settings.MESSAGE_SEND_STEPS * max(settings.EMAIL_TIMEOUT, settings.SMS_TIMEOUT)
    assert SEND_LEASE.total_seconds() >= slowest_send + settings.MESSAGE_SEND_MARGIN

    seen = {}

    def post(url, **kwargs):
        seen.update(kwargs)
        raise requests.ConnectionError("no network in this test")

    monkeypatch.setattr("members.sms.requests.post", post)
    settings.SMS_BACKEND = "members.sms.FortySixElksBackend"
    settings.SMS_46ELKS_USERNAME, settings.SMS_46ELKS_PASSWORD = "u", "p"
    with time_machine.travel(DAYTIME, tick=False):
        sms_to("+4790000007")
        assert messages_send_due() == {"retry": 1}
    assert seen["timeout"] == settings.SMS_TIMEOUT
    assert seen["headers"] == {"Idempotency-Key": f"klubb-message-{Message.objects.get().pk}"}


def settings_load(**environment: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment}
    code = "import config.settings.base as s; print(s.KLUBB_MESSAGE_LEASE_SECONDS)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=Path(django_settings.BASE_DIR), capture_output=True, text=True
    )


def test_settings_refuse_a_lease_shorter_than_the_slowest_send_and_lengthen_the_default():
    refused = settings_load(EMAIL_TIMEOUT="60", MESSAGE_SEND_LEASE="300")
    assert refused.returncode != 0 and "MESSAGE_SEND_LEASE (300 s) must be at least 960 s" in refused.stderr
    assert settings_load(EMAIL_TIMEOUT="60").stdout.strip() == "960"
    assert settings_load(EMAIL_TIMEOUT="10", SMS_TIMEOUT="10").stdout.strip() == "300"
