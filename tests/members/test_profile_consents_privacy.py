"""The member's own pages: profile and interests, marketing consents with proof, data export, deletion."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from loyalty.messages import LoyaltyMessage
from loyalty.models import LedgerEntry, PointsAccount, Reward, ShopCustomer
from loyalty.orders import refund_record
from loyalty.rewards.catalogue import reward_redeem
from members.messaging import Outgoing, messages_queue
from members.models import ConsentRecord, Interest, Member, Message, MessageStatus
from members.services import consent_set
from tests.conftest import api_client_for, give_two_factor, make_order
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def kari(shop, tiers, programme):
    make_order(shop, order_id="1001", amount="1500.00", external_id="cust-77", first_name="Kari", last_name="Nord")
    member = Member.objects.select_related("user").get(user__email="kari@example.com")
    member.phone = "+4791234567"
    member.save()
    return member


@pytest.fixture
def logged_in(client, kari):
    client.force_login(kari.user)
    return client


@pytest.fixture
def interests(db):
    return [
        Interest.objects.create(name="Tennis", slug="tennis"),
        Interest.objects.create(name="Golf", slug="golf"),
        Interest.objects.create(name="Curling", slug="curling", is_active=False),
    ]


def profile_data(**changes):
    data = {"first_name": "Kari", "last_name": "Nord", "phone": "+47 912 34 567", "birthday": "1990-05-17"}
    data |= {"language": "en", "interests": []}
    return data | changes


def test_every_own_page_sends_visitors_to_log_in(client):
    for name in ["profile", "consents", "privacy", "privacy_export"]:
        response = client.get(reverse(f"portal:{name}"))
        assert response.status_code == 302 and response.url.startswith(reverse("account_login")), name
    assert client.post(reverse("portal:privacy_erase"), {"email": "kari@example.com"}).status_code == 302


def test_member_saves_profile_with_interests_and_the_portal_switches_language(logged_in, kari, interests):
    response = logged_in.post(
        reverse("portal:profile"), profile_data(language="nb", interests=[interests[0].pk, interests[1].pk])
    )
    assert response.status_code == 302
    kari.refresh_from_db()
    kari.user.refresh_from_db()
    assert (kari.phone, kari.birthday, kari.language) == ("+4791234567", dt.date(1990, 5, 17), "nb")
    assert set(kari.interests.values_list("slug", flat=True)) == {"tennis", "golf"}
    assert response.cookies["django_language"].value == "nb"


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": "12"}, "phone", "Enter a valid phone number"),
        (
            {"birthday": (timezone.localdate() + dt.timedelta(days=1)).isoformat()},
            "birthday",
            "cannot be in the future",
        ),
        ({"birthday": "1800-01-01"}, "birthday", "check the year"),
        ({"language": "de"}, "language", "Select a valid choice"),
        ({"interests": ["999999"]}, "interests", "Select a valid choice"),
    ],
)
def test_bad_profile_input_is_explained_and_changes_nothing(logged_in, kari, interests, changes, field, message):
    response = logged_in.post(reverse("portal:profile"), profile_data(first_name="Changed", **changes))
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert message in response.content.decode()
    kari.user.refresh_from_db()
    assert kari.user.first_name == "Kari"


def test_interests_are_a_group_of_labelled_checkboxes(logged_in, interests):
    html = logged_in.get(reverse("portal:profile")).content.decode()
    group = html[html.index("<fieldset") : html.index("</fieldset>")]
    assert "<legend>Interests</legend>" in group
    assert re.search(r'<label for="id_interests_0"><input type="checkbox" name="interests" value="\d+"', group)
    assert "<label" not in html[html.rindex("<div", 0, html.index("<fieldset")) : html.index("<fieldset")]
    assert '<label for="id_first_name">First name</label>' in html


def test_inactive_interests_cannot_be_chosen(logged_in, interests):
    response = logged_in.post(reverse("portal:profile"), profile_data(interests=[interests[2].pk]))
    assert "interests" in response.context["form"].errors
    assert "Curling" not in logged_in.get(reverse("portal:profile")).content.decode()


def test_a_phone_another_member_uses_is_refused(logged_in, kari):
    MemberFactory(user__email="ola@example.com", phone="+4790000000")
    response = logged_in.post(reverse("portal:profile"), profile_data(phone="+47 900 00 000"))
    assert "Another member already uses this mobile number." in response.content.decode()
    kari.refresh_from_db()
    assert kari.phone == "+4791234567"


def test_consent_changes_are_recorded_with_time_source_and_wording(logged_in, kari):
    logged_in.post(reverse("portal:consents"), {"email_marketing": "on"}, headers={"User-Agent": "Phone/1.0"})
    kari.refresh_from_db()
    assert (kari.email_marketing, kari.sms_marketing) == (True, False)
    record = ConsentRecord.objects.get()
    assert (record.channel, record.granted, record.source) == ("email", True, "portal")
    assert record.wording == "Yes, send me offers and news from the club by email."
    assert (record.ip_address, record.user_agent) == ("127.0.0.1", "Phone/1.0")

    logged_in.post(reverse("portal:consents"), {"email_marketing": "on"})  # nothing changed: nothing recorded
    assert ConsentRecord.objects.count() == 1
    logged_in.post(reverse("portal:consents"), {})
    kari.refresh_from_db()
    assert not kari.email_marketing
    assert list(ConsentRecord.objects.order_by("id").values_list("granted", flat=True)) == [True, False]


def test_members_choose_which_club_notifications_they_get_and_queued_ones_stop(logged_in, kari):
    page = logged_in.get(reverse("portal:consents")).content.decode()
    assert re.search(r'name="notify_email"[^>]*checked', page)  # on by default
    assert not re.search(r'name="notify_sms"[^>]*checked', page)
    kari.refresh_from_db()
    kari.notify_sms = True
    kari.save(update_fields=["notify_sms"])
    Message.objects.all().delete()
    messages_queue(kind=LoyaltyMessage.TIER_DOWN, items=[Outgoing(member_id=kari.pk, key="later")])
    assert set(Message.objects.values_list("channel", "status")) == {("email", "queued"), ("sms", "queued")}

    logged_in.post(reverse("portal:consents"), {"notify_sms": "on"})  # email off, SMS stays on

    kari.refresh_from_db()
    assert (kari.notify_email, kari.notify_sms) == (False, True)
    assert dict(Message.objects.values_list("channel", "status")) == {
        "email": MessageStatus.CANCELLED,
        "sms": MessageStatus.QUEUED,
    }
    assert ConsentRecord.objects.count() == 0  # notifications are a setting, not a marketing consent


def test_sms_notifications_need_a_mobile_number_first(logged_in, kari):
    kari.phone = ""
    kari.save(update_fields=["phone"])
    response = logged_in.post(reverse("portal:consents"), {"notify_email": "on", "notify_sms": "on"})
    assert "Add your mobile number to your profile first." in response.content.decode()
    kari.refresh_from_db()
    assert (kari.notify_email, kari.notify_sms) == (True, False)


def test_consent_records_cannot_be_altered(kari):
    record = consent_set(member=kari, channel="sms", granted=True, source="staff")
    record.granted = False
    with pytest.raises(TypeError):
        record.save()
    with pytest.raises(TypeError):
        ConsentRecord.objects.update(granted=False)


def test_shops_read_and_change_consents_through_the_api(kari, shop):
    api = api_client_for(shop)
    url = f"/api/v1/members/{kari.public_id}/consents/"
    assert api.get(url).json() == {"email_marketing": False, "sms_marketing": False}

    response = api.put(url, {"sms_marketing": True, "wording": "SMS offers: yes"}, format="json")
    assert response.status_code == 200 and response.json() == {"email_marketing": False, "sms_marketing": True}
    record = ConsentRecord.objects.get()
    assert (record.source, record.recorded_by, record.wording) == ("api", f"shop:{shop.slug}", "SMS offers: yes")

    bad = api.put(url, {"wording": "nothing to change"}, format="json")
    assert bad.status_code == 400 and bad.json()["field"] == "email_marketing"
    wrong_type = api.put(url, {"email_marketing": "perhaps"}, format="json")
    assert wrong_type.status_code == 400 and wrong_type.json()["field"] == "email_marketing"
    assert ConsentRecord.objects.count() == 1
    missing = api.get("/api/v1/members/00000000-0000-0000-0000-000000000000/consents/")
    assert missing.status_code == 404 and missing.json()["code"] == "member_not_found"


def test_staff_record_consent_changes_in_the_admin(admin_client, admin_user, kari):
    response = admin_client.post(
        reverse("admin:members_member_changelist"),
        {"action": "consent_email_grant", "_selected_action": [kari.pk]},
    )
    assert response.status_code == 302
    record = ConsentRecord.objects.get()
    assert (record.source, record.granted, record.recorded_by) == ("staff", True, f"staff:{admin_user.email}")
    page = admin_client.get(reverse("admin:members_member_change", args=[kari.pk])).content.decode()
    assert "given to staff" in page


def test_export_holds_my_data_and_nobody_elses(logged_in, kari, shop, interests):
    kari.interests.add(interests[0])
    consent_set(member=kari, channel="email", granted=True, source="portal")
    make_order(shop, order_id="2001", amount="700.00", email="ola@example.com")
    reward_redeem(member=kari, reward=Reward.objects.create(name="Mug", points_cost=100))

    response = logged_in.get(reverse("portal:privacy_export"))
    assert response["Content-Disposition"].startswith('attachment; filename="klubb-my-data-')
    data = json.loads(response.content)
    assert data["member"]["email"] == "kari@example.com" and data["member"]["phone"] == "+4791234567"
    assert data["member"]["interests"] == ["Tennis"]
    assert data["consent_history"][0]["granted"] is True
    assert [order["order_id"] for order in data["loyalty"]["orders"]] == ["1001"]
    assert data["loyalty"]["points"]["balance"] == 1400
    assert data["loyalty"]["vouchers"][0]["reward"] == "Mug"
    assert data["loyalty"]["shop_customer_ids"] == [{"shop": "Nordlys Sport", "customer_id": "cust-77"}]
    assert "ola@example.com" not in response.content.decode() and "2001" not in response.content.decode()


def test_deleting_my_account_removes_personal_data_but_keeps_the_totals(logged_in, kari, shop, interests):
    kari.interests.add(interests[0])
    kari.birthday = dt.date(1990, 5, 17)
    kari.save()
    consent_set(member=kari, channel="email", granted=True, source="portal", ip_address="10.0.0.1")
    refund_record(shop=shop, order_id="1001", refund_id="r-1", amount=Decimal("500.00"))
    ledger_before = list(LedgerEntry.objects.values_list("points", flat=True))
    balance_before = PointsAccount.objects.get(member=kari).balance

    wrong = logged_in.post(reverse("portal:privacy_erase"), {"email": "someone@example.com"})
    assert wrong.status_code == 400 and "not the email address of this account" in wrong.content.decode()
    assert Member.objects.get(pk=kari.pk).erased_at is None

    response = logged_in.post(reverse("portal:privacy_erase"), {"email": "Kari@Example.com"})
    assert response.url == reverse("portal:goodbye")
    assert "_auth_user_id" not in logged_in.session

    kari = Member.objects.select_related("user").get(pk=kari.pk)
    user = kari.user
    personal = ["kari@example.com", "Kari", "Nord", "+4791234567", "1990-05-17", "10.0.0.1", "cust-77"]
    rows = json.dumps(
        [
            {f.name: str(getattr(kari, f.attname)) for f in Member._meta.concrete_fields},
            {f.name: str(getattr(user, f.attname)) for f in type(user)._meta.concrete_fields},
            list(ConsentRecord.objects.filter(member=kari).values()),
            list(EmailAddress.objects.filter(user=user).values()),
            list(ShopCustomer.objects.filter(member=kari).values()),
        ],
        default=str,
    )
    for value in personal:
        assert value not in rows, value
    assert not user.is_active and not user.has_usable_password()
    assert kari.erased_at is not None and not kari.interests.exists()
    assert list(LedgerEntry.objects.values_list("points", flat=True)) == ledger_before
    assert PointsAccount.objects.get(member=kari).balance == balance_before
    call_command("check_ledger")  # exits non-zero if balances and entries disagree
    assert not logged_in.login(email="kari@example.com", password="anything")


def test_staff_accounts_cannot_be_deleted_from_the_portal(client, db):
    staff = MemberFactory(user__email="boss@example.com", user__is_staff=True).user
    give_two_factor(staff)
    client.force_login(staff)
    response = client.post(reverse("portal:privacy_erase"), {"email": "boss@example.com"}, follow=True)
    assert "Staff accounts cannot be deleted here" in response.content.decode()
    assert Member.objects.get(user=staff).erased_at is None


def test_staff_erase_a_member_from_the_admin_after_confirming(admin_client, kari):
    url = reverse("admin:members_member_changelist")
    confirm = admin_client.post(url, {"action": "erase_personal_data", "_selected_action": [kari.pk]})
    assert confirm.status_code == 200 and "Delete personal data?" in confirm.content.decode()
    assert Member.objects.get(pk=kari.pk).erased_at is None
    admin_client.post(url, {"action": "erase_personal_data", "_selected_action": [kari.pk], "confirm": "yes"})
    assert Member.objects.get(pk=kari.pk).erased_at is not None


def test_the_language_switch_is_remembered_on_the_member(logged_in, kari):
    response = logged_in.post(reverse("set_language"), {"language": "da", "next": "/"})
    assert response.status_code == 302 and response.cookies["django_language"].value == "da"
    kari.refresh_from_db()
    assert kari.language == "da"
    logged_in.post(reverse("set_language"), {"language": "xx", "next": "/"})
    kari.refresh_from_db()
    assert kari.language == "da"
