"""Messages are rendered by the worker that sends them: queueing stores the variables, sending renders them with
the template active then, in the member's language, and keeps the text; the order path renders nothing."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from decimal import Decimal
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.core import mail, signing
from django.db import connection
from django.template import Template
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from loyalty.events.subscribers import tier_message
from loyalty.messages import LoyaltyMessage
from members.message_context import ContextDecoder, ContextEncoder
from members.messaging import (
    Outgoing,
    in_member_language,
    message_footer,
    message_kinds,
    message_render,
    message_text,
    messages_queue,
    messages_retry,
    messages_send_due,
)
from members.models import ConsentSource, Member, Message, MessageChannel, MessageStatus, MessageTemplate
from members.services import consent_set, member_data_export, member_erase
from tests.conftest import make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db
DAYTIME = dt.datetime(2026, 11, 24, 12, 0, tzinfo=zoneinfo.ZoneInfo("Europe/Oslo"))


def _reachable(language: str, index: int) -> Member:
    """A member in ``language`` who gets every kind by email and SMS (notifications and consents)."""
    member = MemberFactory(
        language=language, phone=f"+47900001{index:02d}", notify_sms=True, user__first_name=f"Kari{index}"
    )
    for channel in ("email", "sms"):
        consent_set(member=member, channel=channel, granted=True, source=ConsentSource.PORTAL)
    return member


def test_the_variables_survive_json_with_their_types():
    context = {
        "points": 1250,
        "name": "Sølv",
        "benefits": ["Free shipping", "Early sales"],
        "date": dt.date(2027, 1, 31),
        "at": dt.datetime(2027, 1, 31, 9, 30, tzinfo=dt.UTC),
        "amount": Decimal("300.00"),
        "nested": {"date": dt.date(2027, 2, 1)},
        "none": None,
    }
    back = json.loads(json.dumps(context, cls=ContextEncoder), cls=ContextDecoder)
    assert back == context
    assert type(back["date"]) is dt.date and type(back["amount"]) is Decimal
    with pytest.raises(TypeError):
        json.dumps({"member": MemberFactory()}, cls=ContextEncoder)  # refused when queued, not found out when sent


def test_every_kinds_samples_are_sent_as_rendering_them_when_queued_gave():
    """Every registered kind's sample variables, through the database's JSON and the worker, in every language and
    both channels: the text sent is the text rendering at queueing gave (what Klubb did before)."""
    members = [_reachable(language, index) for index, (language, _name) in enumerate(settings.LANGUAGES)]
    templates = {(t.kind, t.channel, t.language): t for t in MessageTemplate.objects.filter(is_active=True)}
    expected = {}
    with time_machine.travel(DAYTIME, tick=False):
        for registered in message_kinds():
            sample = dict(registered.sample)
            assert messages_queue(
                kind=registered.kind, items=[Outgoing(member_id=m.pk, key="sample", context=sample) for m in members]
            ) == 2 * len(members), registered.kind
            for member in members:
                for channel in (MessageChannel.EMAIL, MessageChannel.SMS):
                    template = templates[(registered.kind, channel, member.language)]
                    subject, body = message_render(
                        subject=template.subject,
                        body=template.body,
                        language=member.language,
                        context={"first_name": member.user.first_name, **sample},
                    )
                    footer = message_footer(member=member, kind=registered.kind, channel=channel)
                    expected[(registered.kind, channel, member.pk)] = (subject, f"{body}\n\n{footer}")
        queued = Message.objects.filter(key="sample")
        assert set(queued.values_list("body", flat=True)) == {""}  # nothing rendered when queued
        for message in queued:
            assert message.context == dict(message_kinds_sample(message.kind)), message.kind
        outcomes = messages_send_due()
    assert outcomes == {"sent": len(expected)}
    sent = {(m.kind, m.channel, m.member_id): (m.subject, m.body) for m in Message.objects.filter(key="sample")}
    assert sent == expected
    # The dates came back as dates: formatted the member's way, not as ISO text.
    norwegian = next(m for m in members if m.language == "nb")
    warning = Message.objects.get(kind=LoyaltyMessage.EXPIRY_WARNING, channel="email", member=norwegian)
    assert "31. januar 2027" in warning.body and "2027-01-31" not in warning.body
    assert len(mail.outbox) == len(members) * len(list(message_kinds()))


def message_kinds_sample(kind: str) -> dict:
    return next(registered.sample for registered in message_kinds() if registered.kind == kind)


def test_texts_staff_wrote_per_language_are_stored_in_the_members_language(tiers):
    gold = tiers[2]
    gold.name_nb, gold.benefits_en, gold.benefits_nb = "Gull", "Free delivery", "Gratis frakt\nTidlig salg"
    gold.save()
    ola, kari = MemberFactory(language="nb"), MemberFactory(language="en")
    with translation.override("sv"):  # whatever the queueing process has active
        messages_queue(
            kind=LoyaltyMessage.TIER_UP,
            items=[tier_message(member_id=m.pk, tier=gold, since=DAYTIME) for m in (ola, kari)],
        )
    assert Message.objects.get(member=ola).context == {"tier": "Gull", "benefits": ["Gratis frakt", "Tidlig salg"]}
    assert Message.objects.get(member=kari).context == {"tier": "Gold", "benefits": ["Free delivery"]}
    gold.name_nb = "Gullnivå"  # renamed before the message goes: it says what the tier was called
    gold.save()
    with translation.override("en"):  # the worker's language is not the member's
        messages_send_due()
    norwegian = Message.objects.get(member=ola)
    assert norwegian.subject == "Du er nå Gull!"
    assert "Fordelene dine:\n- Gratis frakt\n- Tidlig salg" in norwegian.body
    assert (
        "Du får dette fordi du er medlem av Klubb. Stopp disse e-postene:" in norwegian.body
    )  # the footer too, in Norwegian
    assert Message.objects.get(member=kari).subject == "You are now Gold!"


def test_a_template_edited_between_queueing_and_sending_is_sent_as_edited():
    member = MemberFactory(language="en")
    messages_queue(
        kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1", context={"tier": "Silver"})]
    )
    template = MessageTemplate.objects.get(kind=LoyaltyMessage.TIER_DOWN, channel="email", language="en")
    template.subject = "Now {{ tier }}, {{ first_name }}"
    template.body = "Dear {{ first_name }}, you are {{ tier }} from today."
    template.save()
    messages_send_due()
    sent = Message.objects.get()
    assert sent.status == MessageStatus.SENT
    assert sent.subject == f"Now Silver, {member.user.first_name}" == mail.outbox[0].subject
    assert sent.body.startswith(f"Dear {member.user.first_name}, you are Silver from today.\n\nYou get this because")
    assert mail.outbox[0].body == sent.body


def test_a_template_switched_off_after_queueing_cancels_the_message_until_sent_again():
    member = MemberFactory(language="nb")
    messages_queue(
        kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1", context={"tier": "Sølv"})]
    )
    template = MessageTemplate.objects.get(kind=LoyaltyMessage.TIER_DOWN, channel="email", language="nb")
    template.is_active = False
    template.save()
    shown = message_text(message=Message.objects.get())
    assert (shown.body, shown.sent_text) == ("Its template is switched off: it will not be sent.", False)
    assert messages_send_due() == {"cancelled": 1}
    cancelled = Message.objects.get()
    assert (cancelled.status, cancelled.body) == (MessageStatus.CANCELLED, "")
    assert cancelled.error == "Its template was switched off by staff."
    assert mail.outbox == []
    template.is_active = True  # staff switch it on again and send it from the log
    template.save()
    assert messages_retry(message_ids=[cancelled.pk]) == 1
    assert messages_send_due() == {"sent": 1}
    assert mail.outbox[0].subject == "Nivået ditt er nå Sølv"


def test_a_message_queued_twice_is_one_message():
    member = MemberFactory()
    for _ in range(2):
        messages_queue(
            kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1", context={"tier": "A"})]
        )
    messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1", context={"tier": "B"})])
    assert messages_send_due() == {"sent": 1}
    assert Message.objects.get().context == {"tier": "A"} and len(mail.outbox) == 1


def test_a_message_rendered_when_queued_before_this_change_is_sent_as_it_is():
    member = MemberFactory(language="en")
    Message.objects.create(
        member=member, kind=LoyaltyMessage.TIER_DOWN, channel="email", key="old", language="en",
        to=member.user.email, subject="Rendered long ago", body="The text as it was queued.", context=None,
    )  # fmt: skip
    assert messages_send_due() == {"sent": 1}
    sent = Message.objects.get()
    assert (sent.subject, sent.body) == ("Rendered long ago", "The text as it was queued.")
    assert (mail.outbox[0].subject, mail.outbox[0].body) == ("Rendered long ago", "The text as it was queued.")


def test_a_message_not_sent_yet_shows_what_it_would_say_in_the_export_and_the_log(admin_client):
    member = MemberFactory(language="en", user__first_name="Nora")
    messages_queue(
        kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1", context={"tier": "Silver"})]
    )
    queued = Message.objects.get()
    assert queued.body == ""
    [exported] = member_data_export(member=member)["messages"]["messages"]
    assert exported["subject"] == "Your level is now Silver"
    assert exported["text"].startswith("Hi Nora!\n\nYour level in Klubb is now Silver.")
    page = admin_client.get(f"/admin/members/message/{queued.pk}/change/").content.decode()
    assert "Not sent yet." in page and "Your level in Klubb is now Silver." in page
    messages_send_due()
    page = admin_client.get(f"/admin/members/message/{queued.pk}/change/").content.decode()
    assert "Not sent yet." not in page and "Your level in Klubb is now Silver." in page
    assert member_data_export(member=member)["messages"]["messages"][0]["text"] == Message.objects.get().body


def test_erasure_clears_the_variables_as_well_as_the_texts():
    member = MemberFactory(user__first_name="Nora")
    messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=member.pk, key="1", context={"tier": "A"})])
    messages_send_due()
    messages_queue(
        kind=LoyaltyMessage.POINTS_EARNED,
        items=[
            Outgoing(member_id=member.pk, key="2", context={"points": 5, "balance": 5, "order": "A-77", "shop": "S"})
        ],
    )
    sending = Message.objects.get(key="2")
    assert sending.context["order"] == "A-77"
    Message.objects.filter(pk=sending.pk).update(status=MessageStatus.SENDING)  # a worker is sending it right now
    member_erase(member=member, source=ConsentSource.PORTAL)
    rows = list(Message.objects.order_by("key").values_list("status", "to", "subject", "body", "context"))
    assert rows == [
        (MessageStatus.SENT, "", "", "", None),
        (MessageStatus.CANCELLED, "", "", "", None),
    ]


def test_an_order_renders_no_template_and_signs_no_link_until_its_messages_are_sent(shop, tiers, programme, member):
    """An order's messages (points earned, tier up) are queued under the account lock; rendering them there cost
    about 0.4 ms per order. Now the worker renders them after commit."""
    with (
        mock.patch.object(Template, "render", autospec=True, side_effect=Template.render) as render,
        mock.patch.object(signing.Signer, "sign_object", autospec=True, side_effect=signing.Signer.sign_object) as sign,
    ):
        make_order(shop, order_id="A-1", amount="1200.00", occurred_at=DAYTIME)
        queued = Message.objects.filter(status=MessageStatus.QUEUED).count()
        assert queued >= 2  # points earned and tier up
        assert (render.call_count, sign.call_count) == (0, 0)
        assert messages_send_due() == {"sent": queued}
        assert render.call_count >= queued and sign.call_count >= queued


def test_sending_makes_two_queries_per_message_and_reads_its_batch_at_once():
    """The worker reads a claimed batch's messages, members and users in one query, then per message renews its
    lease and records the outcome: 2 queries per message (3 before it read the batch at once)."""

    def queries_for(count: int, key: str) -> int:
        members = [MemberFactory() for _ in range(count)]
        messages_queue(
            kind=LoyaltyMessage.TIER_DOWN,
            items=[Outgoing(member_id=m.pk, key=key, context={"tier": "A"}) for m in members],
        )
        with CaptureQueriesContext(connection) as queries:
            assert messages_send_due() == {"sent": count}
        return len(queries)

    queries_for(1, "warm")  # the templates' snapshot read once
    assert queries_for(10, "b") - queries_for(5, "a") == 5 * 2


def test_in_member_language_reads_the_text_in_the_active_language(tiers):
    gold = tiers[2]
    gold.name_nb = "Gull"
    gold.save()
    name = in_member_language(gold, "name")
    with translation.override("nb"):
        assert name.resolve() == "Gull" == str(name)
    with translation.override("en"):
        assert name.resolve() == "Gold"
