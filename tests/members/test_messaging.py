"""Messages to members: who gets what through which channel, in their language, when, and the ways out."""

from __future__ import annotations

import base64
import datetime as dt
import re
import zoneinfo
from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from werkzeug import Response

from config.snapshots import Snapshot
from loyalty.messages import LoyaltyMessage
from loyalty.models import Reward
from loyalty.rewards.catalogue import reward_redeem
from members.messaging import (
    MAX_ATTEMPTS,
    SEND_LEASE,
    Outgoing,
    message_kinds,
    message_preview,
    messages_claim,
    messages_queue,
    messages_send_due,
    quiet_until,
    unsubscribe_url,
)
from members.models import (
    ConsentRecord,
    ConsentSource,
    Member,
    Message,
    MessageStatus,
    MessageTemplate,
)
from members.services import consent_set, member_data_export, member_enrol, member_erase
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
DAYTIME = dt.datetime(2026, 11, 24, 12, 0, tzinfo=OSLO)


def winback_to(member: Member, *, key: str = "1") -> int:
    return messages_queue(
        kind=LoyaltyMessage.WINBACK,
        items=[
            Outgoing(member_id=member.pk, key=key, context={"offer": "15 % off", "code": "WB2345", "valid_until": None})
        ],
    )


@pytest.fixture
def elks(settings, httpserver):
    settings.SMS_BACKEND = "members.sms.FortySixElksBackend"
    settings.SMS_46ELKS_URL = httpserver.url_for("/")
    settings.SMS_46ELKS_USERNAME = "u-elks"
    settings.SMS_46ELKS_PASSWORD = "p-secret"
    settings.SMS_SENDER = "Nordlys"
    return httpserver


# --- Who gets what ----------------------------------------------------------------------------------------


def test_a_new_member_gets_one_welcome_email_in_their_language():
    _member, created = member_enrol(email="ola@example.com", first_name="Ola", language="nb")
    member_enrol(email="ola@example.com")  # enrolled again by another shop: no second welcome
    assert created
    messages_send_due()
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ola@example.com"]
    assert email.subject == "Velkommen til Klubb!"
    assert email.body.startswith("Hei Ola!")


def test_an_order_sends_points_earned_once_even_when_replayed(shop, tiers, programme, member):
    make_order(shop, order_id="A-1", amount="1250.00", occurred_at=DAYTIME)
    make_order(shop, order_id="A-1", amount="1250.00", occurred_at=DAYTIME)  # the shop retried
    messages_send_due()
    earned = [m for m in mail.outbox if "poeng for ordre" in m.body]
    assert len(earned) == 1
    # Norwegian: the member's language, with numbers grouped the Norwegian way.
    assert "Du har fått 1\xa0250 poeng for ordre A-1 hos Nordlys Sport." in earned[0].body
    assert earned[0].subject == "Du har fått 1\xa0250 poeng"


def test_crossing_a_threshold_sends_tier_up_with_the_benefits(shop, tiers, programme, member):
    tiers[1].benefits = "Free shipping\nEarly sales"
    tiers[1].save()
    make_order(shop, order_id="A-1", amount="1200.00")
    messages_send_due()
    tier_up = [m for m in mail.outbox if m.subject == "Du er nå Silver!"]
    assert len(tier_up) == 1
    assert "Fordelene dine:\n- Free shipping\n- Early sales" in tier_up[0].body


def test_a_redeemed_reward_sends_the_voucher_code(shop, tiers, programme, member):
    make_order(shop, order_id="A-1", amount="500.00")
    reward = Reward.objects.create(name="Mug", points_cost=100, how_to_use="Show the code at the till.")
    voucher = reward_redeem(member=member, reward=reward)
    messages_send_due()
    sent = Message.objects.get(kind=LoyaltyMessage.REWARD_REDEEMED)
    assert sent.status == MessageStatus.SENT
    assert voucher.code in sent.body and "Show the code at the till." in sent.body


def test_notifications_follow_the_members_settings_and_sms_needs_a_phone(settings):
    settings.SMS_BACKEND = "members.sms.ConsoleBackend"
    email_only = MemberFactory(phone="+4790000010")
    both = MemberFactory(phone="+4790000011", notify_sms=True)
    neither = MemberFactory(notify_email=False)
    sms_without_phone = MemberFactory(notify_email=False, notify_sms=True)
    with time_machine.travel(DAYTIME, tick=False):
        for member in (email_only, both, neither, sms_without_phone):
            messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key=str(member.pk))])
        assert messages_send_due() == {"sent": 3}
    channels = sorted(Message.objects.values_list("member_id", "channel"))
    assert channels == sorted([(email_only.pk, "email"), (both.pk, "email"), (both.pk, "sms")])


def test_marketing_goes_only_through_channels_the_member_consented_to(settings):
    settings.SMS_BACKEND = "members.sms.ConsoleBackend"
    no_consent = MemberFactory(phone="+4790000020")
    email_yes = MemberFactory(phone="+4790000021")
    sms_yes = MemberFactory(phone="+4790000022")
    consent_set(member=email_yes, channel="email", granted=True, source=ConsentSource.PORTAL)
    consent_set(member=sms_yes, channel="sms", granted=True, source=ConsentSource.PORTAL)
    for member in (no_consent, email_yes, sms_yes):
        winback_to(member)
    assert sorted(Message.objects.values_list("member_id", "channel")) == sorted(
        [(email_yes.pk, "email"), (sms_yes.pk, "sms")]
    )


def test_a_member_who_opts_out_before_sending_gets_nothing():
    member = MemberFactory()
    consent_set(member=member, channel="email", granted=True, source=ConsentSource.PORTAL)
    winback_to(member)
    consent_set(member=member, channel="email", granted=False, source=ConsentSource.PORTAL)
    assert messages_send_due() == {"cancelled": 1}
    assert mail.outbox == []


def test_erased_members_get_no_messages_and_their_log_is_wiped():
    member = MemberFactory()
    messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
    assert member_data_export(member=member)["messages"]["messages"][0]["to"] == member.user.email
    member_erase(member=member, source=ConsentSource.PORTAL)
    logged = Message.objects.get()
    assert (logged.status, logged.to, logged.body) == (MessageStatus.CANCELLED, "", "")
    assert messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="2")]) == 0


def test_queueing_makes_the_same_number_of_queries_for_5_or_50_members():
    def queries_for(count: int, key: str) -> int:
        members = [MemberFactory() for _ in range(count)]
        Snapshot.clear_all()  # both read the templates
        with CaptureQueriesContext(connection) as queries:
            messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=m.pk, key=key) for m in members])
        return len(queries)

    assert queries_for(5, "a") == queries_for(50, "b")
    assert Message.objects.count() == 55


# --- Quiet hours ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        ("2026-11-24 12:00", None),
        ("2026-11-24 08:59", "2026-11-24 09:00"),
        ("2026-11-24 21:00", "2026-11-25 09:00"),
        ("2026-11-24 23:30", "2026-11-25 09:00"),
        ("2026-11-25 00:10", "2026-11-25 09:00"),
    ],
)
def test_quiet_hours_run_from_21_to_9_local_time(local, expected):
    now = dt.datetime.fromisoformat(local).replace(tzinfo=OSLO)
    result = quiet_until(time_zone="Europe/Oslo", now=now)
    assert result == (dt.datetime.fromisoformat(expected).replace(tzinfo=OSLO) if expected else None)


def test_an_sms_queued_at_night_waits_for_nine_in_the_members_time_zone(settings):
    settings.SMS_BACKEND = "members.sms.ConsoleBackend"
    oslo = MemberFactory(phone="+4790000030", notify_sms=True, notify_email=False)
    helsinki = MemberFactory(phone="+358401234567", notify_sms=True, notify_email=False, time_zone="Europe/Helsinki")
    with time_machine.travel(dt.datetime(2026, 11, 24, 20, 30, tzinfo=OSLO), tick=False):  # 21:30 in Helsinki
        for member in (oslo, helsinki):
            messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
        assert messages_send_due() == {"sent": 1}
    assert Message.objects.get(member=oslo).status == MessageStatus.SENT
    waiting = Message.objects.get(member=helsinki)
    assert waiting.status == MessageStatus.QUEUED
    assert waiting.send_after == dt.datetime(2026, 11, 25, 9, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Helsinki"))
    with time_machine.travel(dt.datetime(2026, 11, 25, 7, 59, tzinfo=OSLO), tick=False):  # 08:59 in Helsinki
        assert messages_send_due() == {}
    with time_machine.travel(dt.datetime(2026, 11, 25, 8, 0, tzinfo=OSLO), tick=False):
        assert messages_send_due() == {"sent": 1}


# --- Sending: claims, retries, the SMS provider -----------------------------------------------------------


def test_a_claimed_message_is_not_claimed_again_until_its_lease_runs_out():
    member = MemberFactory()
    with time_machine.travel(DAYTIME, tick=False):
        messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
        claimed = messages_claim().message_ids
        assert len(claimed) == 1
        assert messages_claim().message_ids == []  # another worker finds nothing to take
    with time_machine.travel(DAYTIME + SEND_LEASE + dt.timedelta(seconds=1), tick=False):  # the first worker died
        assert messages_claim().message_ids == claimed
    assert Message.objects.get().attempts == 2


def test_the_46elks_backend_sends_with_basic_auth_and_records_the_id(elks):
    elks.expect_request("/a1/sms", method="POST").respond_with_json({"id": "s7a3f", "status": "created"})
    member = MemberFactory(phone="+4790000040", notify_sms=True, notify_email=False, language="nb")
    down = Outgoing(member_id=member.pk, key="1", context={"tier": "Sølv"})
    with time_machine.travel(DAYTIME, tick=False):
        messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[down])
        assert messages_send_due() == {"sent": 1}
    request, _response = elks.log[0]
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"u-elks:p-secret").decode()
    form = parse_qs(request.get_data(as_text=True))
    assert form["from"] == ["Nordlys"] and form["to"] == ["+4790000040"]
    assert form["message"] == [
        "Klubb: Nivået ditt er nå Sølv. Se hvordan du kommer opp igjen: http://127.0.0.1:8000/\n\n"
        "Svar STOPP for å avslutte SMS fra Klubb."
    ]
    sent = Message.objects.get()
    assert (sent.status, sent.provider_id, sent.attempts) == (MessageStatus.SENT, "s7a3f", 1)


def test_a_provider_outage_is_retried_with_backoff_then_given_up(elks):
    elks.expect_request("/a1/sms").respond_with_data("busy", status=503)
    member = MemberFactory(phone="+4790000041", notify_sms=True, notify_email=False)
    now = DAYTIME
    with time_machine.travel(now, tick=False):
        messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
    delays = []
    for _attempt in range(MAX_ATTEMPTS):
        message = Message.objects.get()
        now = max(now, message.send_after)
        with time_machine.travel(now, tick=False):
            messages_send_due()
        message.refresh_from_db()
        delays.append((message.send_after - now).total_seconds())
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED and message.attempts == MAX_ATTEMPTS
    assert "503" in message.error
    assert delays[0] >= 60 and delays[2] >= 4 * 60  # doubling


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [(401, "Unauthorized", "credentials"), (400, "Invalid to number", "Invalid to number")],
)
def test_a_refusal_by_the_provider_fails_at_once(elks, status, body, error):
    elks.expect_request("/a1/sms").respond_with_response(Response(body, status=status))
    member = MemberFactory(phone="+4790000042", notify_sms=True, notify_email=False)
    with time_machine.travel(DAYTIME, tick=False):
        messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
        assert messages_send_due() == {"failed": 1}
    assert error in Message.objects.get().error


# --- Ways out ---------------------------------------------------------------------------------------------


def test_emails_carry_an_unsubscribe_link_that_asks_before_it_stops_notifications(client):
    member = MemberFactory(language="en")
    messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
    messages_send_due()
    email = mail.outbox[0]
    url = re.search(r"Stop these emails: (\S+)", email.body).group(1)
    assert email.extra_headers["List-Unsubscribe"] == f"<{url}>"
    path = urlparse(url).path
    page = client.get(path)
    assert page.status_code == 200 and "Yes, unsubscribe me" in page.content.decode()
    member.refresh_from_db()
    assert member.notify_email  # a link scanner's GET changes nothing
    assert client.post(path).status_code == 200
    member.refresh_from_db()
    assert not member.notify_email


def test_unsubscribing_from_offers_withdraws_the_consent_with_a_record(client):
    member = MemberFactory()
    consent_set(member=member, channel="email", granted=True, source=ConsentSource.PORTAL)
    path = urlparse(unsubscribe_url(member=member, kind=LoyaltyMessage.WINBACK)).path
    client.post(path, HTTP_USER_AGENT="Mail/1.0")  # one-click unsubscribe (RFC 8058) posts without a form
    member.refresh_from_db()
    assert not member.email_marketing and member.notify_email
    record = ConsentRecord.objects.filter(member=member).first()
    assert (record.granted, record.source, record.user_agent) == (False, ConsentSource.UNSUBSCRIBE, "Mail/1.0")


def test_a_forged_unsubscribe_link_changes_nothing(client):
    member = MemberFactory()
    path = urlparse(unsubscribe_url(member=member, kind=LoyaltyMessage.TIER_DOWN)).path
    assert client.post(path[:-5] + "xxxx/").status_code == 404
    member.refresh_from_db()
    assert member.notify_email


def test_replying_stop_by_sms_stops_every_sms(client, settings):
    settings.SMS_INBOUND_TOKEN = "in-7f3a"
    member = MemberFactory(phone="+4790000050", notify_sms=True, language="sv")
    consent_set(member=member, channel="sms", granted=True, source=ConsentSource.PORTAL)
    with time_machine.travel(dt.datetime(2026, 11, 24, 23, 0, tzinfo=OSLO), tick=False):  # waits for 09:00
        winback_to(member)
    url = reverse("hook-sms", args=["in-7f3a"])
    assert (
        client.post(reverse("hook-sms", args=["wrong"]), {"from": "+4790000050", "message": "STOP"}).status_code == 404
    )
    assert client.post(url, {"from": "+4790000050", "message": "hello"}).content == b""
    reply = client.post(url, {"from": "+4790000050", "message": " Stopp "})
    assert reply.content.decode() == "Du får inga fler sms från Klubb."
    member.refresh_from_db()
    assert not member.sms_marketing and not member.notify_sms
    assert ConsentRecord.objects.filter(member=member).first().source == ConsentSource.SMS_STOP
    assert Message.objects.get(channel="sms").status == MessageStatus.CANCELLED


# --- Templates in the admin -------------------------------------------------------------------------------


def test_every_kind_has_a_template_per_channel_and_language():
    assert MessageTemplate.objects.count() == len(message_kinds()) * 2 * 4


def test_staff_see_a_preview_and_cannot_save_a_broken_template(admin_client):
    template = MessageTemplate.objects.get(kind=LoyaltyMessage.EXPIRY_WARNING, channel="email", language="da")
    subject, _body = message_preview(template=template)
    assert subject == "1.250 point udløber 31. januar 2027"
    url = reverse("admin:members_messagetemplate_change", args=[template.pk])
    page = admin_client.get(url).content.decode()
    assert "1.250 af dine point udløber" in page and "{{ date }}" in page
    response = admin_client.post(
        url,
        {"kind": template.kind, "channel": "email", "language": "da", "subject": "Hi", "body": "{% if %}",
         "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 200 and "This is not a valid template" in response.content.decode()
    template.refresh_from_db()
    assert template.subject != "Hi"


def test_a_template_switched_off_is_not_sent():
    MessageTemplate.objects.filter(kind=LoyaltyMessage.TIER_DOWN, language="nb").update(is_active=False)
    member = MemberFactory(language="nb")
    assert messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")]) == 0


def test_the_message_log_is_read_only_and_failed_messages_can_be_sent_again(admin_client, elks):
    elks.expect_request("/a1/sms").respond_with_data("Invalid to number", status=400)
    member = MemberFactory(phone="+4790000060", notify_sms=True, notify_email=False)
    with time_machine.travel(DAYTIME, tick=False):
        messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1")])
        messages_send_due()
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert admin_client.get(reverse("admin:members_message_add")).status_code == 403
    changelist = admin_client.get(reverse("admin:members_message_changelist"))
    assert "+4790000060" in changelist.content.decode()
    admin_client.post(
        reverse("admin:members_message_changelist"), {"action": "send_again", "_selected_action": [message.pk]}
    )
    message.refresh_from_db()
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)


def test_the_unsubscribe_link_is_the_same_whenever_it_is_made():
    """The body's link is made when the message is queued, the List-Unsubscribe header when it is sent."""
    member = MemberFactory()
    with time_machine.travel(DAYTIME, tick=False):
        queued = unsubscribe_url(member=member, kind=LoyaltyMessage.TIER_UP)
    with time_machine.travel(DAYTIME + dt.timedelta(hours=13), tick=False):
        sent = unsubscribe_url(member=member, kind=LoyaltyMessage.TIER_UP)
    assert queued == sent
    assert unsubscribe_url(member=member, kind=LoyaltyMessage.WINBACK) != sent  # offers and notifications differ
