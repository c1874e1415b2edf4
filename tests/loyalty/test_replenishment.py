"""Replenishment reminders (issue 17): staff's rules per SKU or category, a reminder scheduled by an order, sent
once when due (by the channels the member's consents allow, SMS outside quiet hours, naming the product with its
link), cancelled by buying the item again first, and the dashboard's share of reminders an order followed."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, transaction

from loyalty.messages import LoyaltyMessage
from loyalty.models import Order, ReminderStatus, ReplenishmentReminder, ReplenishmentRule
from loyalty.orders import OrderInput, OrderItem, RefundDetails, ReturnedItem, order_record, refund_record
from loyalty.privacy import loyalty_export
from loyalty.replenishment import replenishment_remind
from loyalty.shops import MemberRef
from members.messaging import message_text, messages_send_due
from members.models import ConsentSource, Member, Message, MessageChannel
from members.services import consent_set, member_erase
from tests.conftest import order_payload

pytestmark = pytest.mark.django_db

OSLO = zoneinfo.ZoneInfo("Europe/Oslo")
T0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
# Vitamins last 30 days, reminded 5 days before: on 27 March at 10:00 in Oslo (still winter time, UTC+1).
DUE = dt.datetime(2026, 3, 27, 10, 0, tzinfo=OSLO)


@pytest.fixture
def vitamins(db) -> ReplenishmentRule:
    return ReplenishmentRule.objects.create(
        name="Vitamins",
        category="vitamins",
        interval_days=30,
        remind_days_before=5,
        message_en="Order before Friday for free shipping.",
        message_nb="Bestill før fredag for fri frakt.",
    )


@pytest.fixture
def filters(db) -> ReplenishmentRule:
    return ReplenishmentRule.objects.create(name="Water filter", sku="FILTER-1", interval_days=90, remind_days_before=7)


def item(sku: str = "VIT-D", name: str = "Vitamin D", category: str = "vitamins", **extra) -> OrderItem:
    return OrderItem(sku=sku, name=name, category=category, quantity=1, unit_price=Decimal("199.00"), **extra)


def buy(
    shop,
    *items: OrderItem,
    order_id: str = "1",
    email: str = "kari@example.com",
    at: dt.datetime = T0,
    reported: dt.datetime | None = None,
) -> Order:
    """Record an order placed ``at``, reported then (or at ``reported``)."""
    with time_machine.travel(reported or at, tick=False):
        return order_record(
            shop=shop,
            order=OrderInput(
                order_id=order_id, member=MemberRef(email=email), amount=Decimal("199.00") * len(items),
                currency=shop.currency, occurred_at=at, items=items,
            ),
        ).order  # fmt: skip


def reachable(email: str = "kari@example.com", language: str = "en", **fields) -> Member:
    """The member, saying yes to offers by email (a reminder is marketing: consent decides)."""
    member = Member.objects.get(user__email=email)
    Member.objects.filter(pk=member.pk).update(language=language, **fields)
    member.refresh_from_db()
    consent_set(member=member, channel="email", granted=True, source=ConsentSource.PORTAL)
    return member


def remind(at: dt.datetime):
    with time_machine.travel(at, tick=False):
        result = replenishment_remind()
        messages_send_due()
    return result


# --- Rules ------------------------------------------------------------------------------------------------------


def test_a_rule_names_a_sku_or_a_category_and_reminds_before_the_product_runs_out(db):
    with pytest.raises(ValidationError):
        ReplenishmentRule(name="Both", sku="A", category="b", interval_days=30).full_clean()
    with pytest.raises(ValidationError):
        ReplenishmentRule(name="Neither", interval_days=30).full_clean()
    with pytest.raises(ValidationError):
        ReplenishmentRule(name="Too late", sku="A", interval_days=10, remind_days_before=10).full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReplenishmentRule.objects.create(name="Neither", interval_days=30)


# --- Scheduling -------------------------------------------------------------------------------------------------


def test_an_order_of_a_covered_item_schedules_one_reminder_at_ten_in_the_morning(shop, tiers, programme, vitamins):
    order = buy(shop, item(url="https://shop.example.com/products/vitamin-d"), item(sku="SHOE", category="running"))
    reminder = ReplenishmentReminder.objects.get()
    assert (reminder.order, reminder.rule, reminder.sku, reminder.name) == (order, vitamins, "VIT-D", "Vitamin D")
    assert reminder.url == "https://shop.example.com/products/vitamin-d"
    assert (reminder.status, reminder.due_at) == (ReminderStatus.SCHEDULED, DUE)
    assert reminder.member == Member.objects.get(user__email="kari@example.com")


def test_a_skus_own_rule_comes_before_its_categorys(shop, tiers, programme, vitamins):
    vitamin_d = ReplenishmentRule.objects.create(name="Vitamin D", sku="VIT-D", interval_days=60, remind_days_before=3)
    buy(shop, item(), item(sku="VIT-C", name="Vitamin C"), item(sku="", name="No SKU"))
    rules = dict(ReplenishmentReminder.objects.values_list("sku", "rule"))
    assert rules == {"VIT-D": vitamin_d.pk, "VIT-C": vitamins.pk}  # an item without a SKU is not one to remind of


def test_a_replayed_order_schedules_nothing_more(api, tiers, programme, filters):
    payload = order_payload(items=[{"sku": "FILTER-1", "name": "Water filter", "quantity": 2, "unit_price": "500.00"}])
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 201
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 200
    assert ReplenishmentReminder.objects.count() == 1


def test_an_inactive_rule_or_an_item_that_has_run_out_already_schedules_nothing(shop, tiers, programme, vitamins):
    buy(shop, item(), order_id="old", at=T0 - dt.timedelta(days=31), reported=T0)  # it ran out already
    vitamins.is_active = False
    vitamins.save()
    buy(shop, item(), order_id="now")
    assert not ReplenishmentReminder.objects.exists()


# --- The REST item's url ----------------------------------------------------------------------------------------


def test_the_rest_api_takes_an_items_url_and_keeps_it_on_the_order_and_the_reminder(api, tiers, programme, vitamins):
    url = "https://shop.example.com/products/vitamin-d"
    payload = order_payload(
        items=[{"sku": "VIT-D", "name": "Vitamin D", "category": "vitamins", "quantity": 1, "unit_price": "199.00",
                "url": url}]
    )  # fmt: skip
    assert api.post("/api/v1/orders/", payload, format="json").status_code == 201
    assert Order.objects.get().items[0]["url"] == url
    assert ReplenishmentReminder.objects.get().url == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://shop.example.com/x",
        "not a url",
        "https:///no-host",
        "https://shop.example.com/a b",
        "https://shop.example.com/a\nSpoofed line",
        "https://shop.example.com/" + "x" * 480,
        42,
    ],
)
def test_a_bad_item_url_is_refused_and_records_nothing(api, tiers, programme, vitamins, url):
    payload = order_payload(items=[{"sku": "VIT-D", "quantity": 1, "unit_price": "199.00", "url": url}])
    response = api.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 400
    assert response.json()["field"] == "items.0.url"
    assert not Order.objects.exists() and not ReplenishmentReminder.objects.exists()


def test_an_item_without_a_url_keeps_the_orders_fingerprint(shop):
    plain = OrderItem(sku="A", quantity=1, unit_price=Decimal("1.00"))
    assert "url" not in plain.as_json()
    assert OrderItem(sku="A", quantity=1, unit_price=Decimal("1.00"), url="https://x.example/a").as_json()["url"]


# --- Sending ----------------------------------------------------------------------------------------------------


def test_a_due_reminder_is_sent_once_by_email_naming_the_product_with_its_link(
    shop, tiers, programme, vitamins, mailoutbox
):
    buy(shop, item(url="https://shop.example.com/products/vitamin-d"))
    reachable()
    mailoutbox.clear()
    assert remind(DUE - dt.timedelta(minutes=1)).sent == 0  # not yet
    assert remind(DUE).sent == 1
    assert remind(DUE + dt.timedelta(hours=1)).sent == 0  # the job again: nothing twice
    reminder = ReplenishmentReminder.objects.get()
    assert (reminder.status, reminder.sent_at) == (ReminderStatus.SENT, DUE)
    [email] = [m for m in mailoutbox if m.subject == "Time to stock up on Vitamin D?"]
    assert "Your Vitamin D may run out soon." in email.body
    assert "Order before Friday for free shipping." in email.body
    assert "Order again: https://shop.example.com/products/vitamin-d" in email.body
    assert Message.objects.filter(kind=LoyaltyMessage.REPLENISHMENT).count() == 1


def test_the_reminder_is_in_the_members_language_with_the_rules_text_in_it(
    shop, tiers, programme, vitamins, mailoutbox
):
    buy(shop, item())
    reachable(language="nb")
    remind(DUE)
    message = Message.objects.get(kind=LoyaltyMessage.REPLENISHMENT)
    assert message.subject == "På tide å fylle på med Vitamin D?"
    assert "Bestill før fredag for fri frakt." in message.body
    assert "Bestill igjen" not in message.body  # no link without the item's url


def test_without_consent_the_reminder_is_skipped_and_nothing_is_sent(shop, tiers, programme, vitamins):
    buy(shop, item())  # notifications by email are on by default, but a reminder is marketing
    result = remind(DUE)
    assert (result.sent, result.skipped) == (0, 1)
    assert ReplenishmentReminder.objects.get().status == ReminderStatus.SKIPPED
    assert not Message.objects.filter(kind=LoyaltyMessage.REPLENISHMENT).exists()


def test_erasing_the_member_cancels_the_reminder_and_the_export_lists_it(shop, tiers, programme, vitamins):
    buy(shop, item())
    member = reachable()
    [exported] = loyalty_export(member)["replenishment_reminders"]
    assert (exported["product"], exported["status"], exported["due_at"]) == (
        "Vitamin D",
        "scheduled",
        "2026-03-27T09:00:00+00:00",
    )
    member_erase(member=member, source=ConsentSource.STAFF)
    assert ReplenishmentReminder.objects.get().status == ReminderStatus.CANCELLED
    remind(DUE)
    assert not Message.objects.filter(kind=LoyaltyMessage.REPLENISHMENT).exists()


def test_an_sms_reminder_waits_for_the_morning_when_the_job_runs_in_quiet_hours(shop, tiers, programme, vitamins):
    buy(shop, item())
    member = Member.objects.get(user__email="kari@example.com")
    Member.objects.filter(pk=member.pk).update(phone="+4791234567", language="en")
    member.refresh_from_db()
    consent_set(member=member, channel="sms", granted=True, source=ConsentSource.PORTAL)
    late = dt.datetime(2026, 3, 27, 22, 30, tzinfo=OSLO)  # a run that was late: the reminder was due at 10:00
    with time_machine.travel(late, tick=False):
        assert replenishment_remind().sent == 1
    sms = Message.objects.get(kind=LoyaltyMessage.REPLENISHMENT, channel=MessageChannel.SMS)
    assert sms.send_after == dt.datetime(2026, 3, 28, 9, 0, tzinfo=OSLO)
    text = message_text(message=sms).body  # not sent before 09:00: what it will say
    assert "Your Vitamin D may run out soon." in text and "Reply STOP" in text


def test_a_switched_off_rule_sends_nothing_more(shop, tiers, programme, vitamins):
    buy(shop, item())
    reachable()
    vitamins.is_active = False
    vitamins.save()
    remind(DUE)
    assert ReplenishmentReminder.objects.get().status == ReminderStatus.SKIPPED


def test_a_claimed_reminder_is_never_claimed_again(shop, tiers, programme, vitamins):
    """Two runs that read the same due reminder: only the first conditional UPDATE takes it."""
    buy(shop, item())
    reachable()
    with time_machine.travel(DUE, tick=False):
        assert replenishment_remind().sent == 1
        ReplenishmentReminder.objects.update(status=ReminderStatus.SCHEDULED)  # as a second run's stale read saw it
        assert replenishment_remind().sent == 1
    # The message is keyed by the reminder: the second queueing wrote nothing.
    assert Message.objects.filter(kind=LoyaltyMessage.REPLENISHMENT).count() == 1


def test_the_command_sends_what_is_due(shop, tiers, programme, vitamins, capsys):
    buy(shop, item())
    reachable()
    with time_machine.travel(DUE, tick=False):
        call_command("replenishment_remind")
    assert "1 sent, 0 skipped" in capsys.readouterr().out
    assert ReplenishmentReminder.objects.get().status == ReminderStatus.SENT


# --- Buying again -----------------------------------------------------------------------------------------------


def test_buying_the_item_again_first_cancels_the_reminder(shop, tiers, programme, vitamins):
    first = buy(shop, item(), order_id="1")
    reachable()
    again = buy(shop, item(), order_id="2", at=T0 + dt.timedelta(days=20))
    assert remind(DUE).sent == 0  # the first order's reminder was due now: cancelled
    old = ReplenishmentReminder.objects.get(order=first)
    assert (old.status, old.cancelled_by) == (ReminderStatus.CANCELLED, again)
    new = ReplenishmentReminder.objects.get(order=again)
    assert (new.status, new.due_at) == (ReminderStatus.SCHEDULED, dt.datetime(2026, 4, 16, 10, 0, tzinfo=OSLO))
    assert not Message.objects.filter(kind=LoyaltyMessage.REPLENISHMENT).exists()


def test_sending_the_item_back_cancels_its_reminder_and_nothing_else(shop, tiers, programme, vitamins):
    order = buy(shop, item(), item(sku="VIT-C", name="Vitamin C"), order_id="1")
    reachable()
    with time_machine.travel(T0 + dt.timedelta(days=3), tick=False):
        refund_record(shop=shop, order_id="1", refund_id="R1", amount=Decimal("199.00"),
                      details=RefundDetails(items=(ReturnedItem(sku="VIT-C", quantity=1),)))  # fmt: skip

    statuses = dict(ReplenishmentReminder.objects.filter(order=order).values_list("sku", "status"))
    assert statuses == {"VIT-D": ReminderStatus.SCHEDULED, "VIT-C": ReminderStatus.RETURNED}
    assert remind(DUE).sent == 1  # vitamin D only
    assert Message.objects.get(kind=LoyaltyMessage.REPLENISHMENT).body.count("Vitamin C") == 0


def test_a_refund_naming_no_goods_cancels_reminders_only_once_the_whole_order_is_refunded(
    shop, tiers, programme, vitamins
):
    order = buy(shop, item(), item(sku="VIT-C", name="Vitamin C"), order_id="1")
    refund_record(shop=shop, order_id="1", refund_id="R1", amount=Decimal("50.00"))
    assert set(ReplenishmentReminder.objects.values_list("status", flat=True)) == {ReminderStatus.SCHEDULED}

    refund_record(shop=shop, order_id="1", refund_id="R2", amount=order.amount - Decimal("50.00"))

    assert set(ReplenishmentReminder.objects.values_list("status", flat=True)) == {ReminderStatus.RETURNED}
    assert remind(DUE).sent == 0


def test_another_item_or_another_member_cancels_nothing(shop, tiers, programme, vitamins):
    buy(shop, item(), order_id="1")
    buy(shop, item(sku="VIT-C"), order_id="2", at=T0 + dt.timedelta(days=1))
    buy(shop, item(), order_id="3", email="ola@example.com", at=T0 + dt.timedelta(days=2))
    assert set(ReplenishmentReminder.objects.values_list("status", flat=True)) == {ReminderStatus.SCHEDULED}
    assert ReplenishmentReminder.objects.count() == 3


def test_an_older_order_reported_late_neither_cancels_nor_doubles_a_newer_reminder(shop, tiers, programme, vitamins):
    buy(shop, item(), order_id="new", at=T0)
    buy(shop, item(), order_id="older", at=T0 - dt.timedelta(days=2), reported=T0)
    assert ReplenishmentReminder.objects.get().order.external_id == "new"
    assert ReplenishmentReminder.objects.get().status == ReminderStatus.SCHEDULED


def test_an_order_of_the_item_within_14_days_of_the_reminder_follows_it(shop, tiers, programme, vitamins):
    buy(shop, item(), order_id="1")
    reachable()
    remind(DUE)
    followed = buy(shop, item(), order_id="2", at=DUE + dt.timedelta(days=13))
    assert ReplenishmentReminder.objects.get(order__external_id="1").followed_by == followed


def test_an_order_after_14_days_does_not_follow_the_reminder(shop, tiers, programme, vitamins):
    buy(shop, item(), order_id="1")
    reachable()
    remind(DUE)
    buy(shop, item(), order_id="2", at=DUE + dt.timedelta(days=15))
    buy(shop, item(sku="VIT-C"), order_id="3", at=DUE + dt.timedelta(days=1))  # another item
    assert ReplenishmentReminder.objects.get(order__external_id="1").followed_by is None


# --- The dashboard ----------------------------------------------------------------------------------------------


def test_the_dashboard_shows_reminders_sent_and_the_share_an_order_followed_within_14_days(
    admin_client, shop, tiers, programme, vitamins, filters
):
    for email in ("kari@example.com", "ola@example.com", "nora@example.com"):
        buy(shop, item(), order_id=f"v-{email}", email=email)
        reachable(email)
    buy(shop, item(sku="FILTER-1", name="Water filter"), order_id="f-1", email="kari@example.com")
    remind(DUE)  # three vitamin reminders; the filter's is not due for months
    buy(shop, item(), order_id="again-kari", email="kari@example.com", at=DUE + dt.timedelta(days=3))
    buy(shop, item(), order_id="late-ola", email="ola@example.com", at=DUE + dt.timedelta(days=15))
    with time_machine.travel(DUE + dt.timedelta(days=20), tick=False):
        response = admin_client.get("/admin/dashboard/", {"first": "2026-03-01", "last": "2026-03-31", "refresh": "1"})
        before = admin_client.get("/admin/dashboard/", {"first": "2026-02-01", "last": "2026-02-28", "refresh": "1"})
    table = response.context["board"].table("replenishment")
    assert table.rows == [["Vitamins", 3, 1, Decimal("33.3")], ["All rules", 3, 1, Decimal("33.3")]]
    assert table.header[2] == "Followed by an order of the item within 14 days"
    assert "Replenishment reminders sent in the period" in response.content.decode()
    assert before.context["board"].table("replenishment").rows == []  # sent in March, not February
