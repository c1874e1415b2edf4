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
from members.models import Message, MessageStatus
from members.sms import SmsError
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
DAYTIME = dt.datetime(2026, 11, 24, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Oslo"))
BACKEND = f"{__name__}.Provider"


class Provider:
    """An SMS provider that takes ``delay`` to answer; during that, ``meanwhile`` runs (another worker)."""

    sent: list[tuple[str, str]] = []  # (to, idempotency key) of every SMS that reached the provider
    traveller: time_machine.Coordinates | None = None
    delay = dt.timedelta(0)
    meanwhile: object = None
    fail: SmsError | None = None

    def send(self, *, to: str, body: str, idempotency_key: str = "") -> str:
        Provider.sent.append((to, idempotency_key))
        if Provider.delay and Provider.traveller is not None:
            Provider.traveller.shift(Provider.delay)
        if callable(then := Provider.meanwhile):
            Provider.meanwhile = None  # once: the other worker's own sends answer at once
            then()
        if Provider.fail is not None:
            raise Provider.fail
        return f"id-{len(Provider.sent)}"


@pytest.fixture
def provider(settings):
    settings.SMS_BACKEND = BACKEND
    Provider.sent, Provider.delay, Provider.meanwhile, Provider.fail = [], dt.timedelta(0), None, None
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
