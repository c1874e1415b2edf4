"""Staff roles, the audit trail, the earning preview and segments, through the admin as staff use them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import DatabaseError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from loyalty.errors import AdjustmentOverLimit
from loyalty.ledger import points_adjust
from loyalty.messages import LoyaltyMessage
from loyalty.models import (
    ApiKey,
    ConsentFilter,
    EarningRule,
    EntryKind,
    LedgerEntry,
    PointsAccount,
    ReferralFilter,
    Reward,
    Segment,
    TierChange,
)
from loyalty.roles import PROGRAMME_MANAGER, SUPPORT
from loyalty.selectors import segment_members
from members.messaging import MemberMessage, messages_send_due
from members.models import (
    AuditAction,
    AuditEntry,
    AuditImmutableError,
    ConsentChannel,
    ConsentSource,
    Interest,
    Member,
    Message,
    MessageStatus,
)
from members.services import consent_set
from tests.conftest import give_two_factor, make_order
from tests.factories import MemberFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db


def url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


def staff_client(role: str, email: str) -> tuple[Client, object]:
    user = UserFactory(email=email, is_staff=True)
    give_two_factor(user)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client, user


@pytest.fixture
def support():
    return staff_client(SUPPORT, "support@example.com")


@pytest.fixture
def manager():
    return staff_client(PROGRAMME_MANAGER, "manager@example.com")


def rule_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Double December", "kind": "multiplier", "multiplier": "2", "bonus_points": "0", "priority": "100",
        "is_active": "on", "starts_at_0": "2026-12-01", "starts_at_1": "00:00:00", "ends_at_0": "2027-01-01",
        "ends_at_1": "00:00:00", "categories": "", "skus": "", "min_order_amount": "", "cap_per_member": "",
        **overrides,
    }  # fmt: skip


# --- Roles ----------------------------------------------------------------------------------------------------


def test_the_two_roles_exist_with_their_permissions():
    support = {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=SUPPORT).permissions.all()}
    manager = {
        f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=PROGRAMME_MANAGER).permissions.all()
    }
    assert {"members.view_member", "loyalty.add_ledgerentry", "members.change_message"} <= support
    assert not {"loyalty.change_earningrule", "loyalty.add_apikey", "loyalty.change_tier"} & support
    assert {
        "loyalty.change_earningrule", "loyalty.add_pointsaction", "loyalty.change_tier", "loyalty.change_reward",
        "loyalty.change_winbackoffer", "loyalty.add_segment", "loyalty.change_shop", "loyalty.add_apikey",
        "loyalty.view_dashboard", "members.view_auditentry",
    } <= manager  # fmt: skip
    assert "loyalty.adjust_points_unlimited" not in support | manager


def test_role_permissions_are_put_back_by_migrate():
    group = Group.objects.get(name=SUPPORT)
    group.permissions.remove(Permission.objects.get(codename="add_ledgerentry"))
    group.permissions.add(Permission.objects.get(codename="delete_tier"))
    call_command("migrate", verbosity=0)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert "add_ledgerentry" in codenames
    assert "delete_tier" not in codenames


def test_support_cannot_add_or_change_rules(support, programme):
    client, _user = support
    rule = EarningRule.objects.create(name="Double", starts_at=timezone.now())
    assert client.get(url("loyalty_earningrule_add")).status_code == 403
    assert client.post(url("loyalty_earningrule_add"), rule_form()).status_code == 403
    assert client.post(url("loyalty_earningrule_change", rule.pk), rule_form(name="Mine")).status_code == 403
    assert client.get(url("loyalty_apikey_add")).status_code == 403
    assert EarningRule.objects.get().name == "Double"


def test_support_can_view_members_and_resend_messages(support, member):
    client, _user = support
    assert client.get(url("members_member_change", member.pk)).status_code == 200
    failed = Message.objects.create(
        member=member, kind=MemberMessage.WELCOME, channel="email", key="w", to="kari@example.com", language="nb",
        body="Hei", status=MessageStatus.FAILED,
    )  # fmt: skip
    action = {"action": "send_again", "_selected_action": [failed.pk]}
    assert client.post(url("members_message_changelist"), action).status_code == 302
    failed.refresh_from_db()
    assert failed.status == MessageStatus.QUEUED


def test_support_adjusts_points_within_the_limit_with_a_reason(support, member, tiers, programme):
    client, user = support
    programme.support_adjust_limit = 300
    programme.save()
    adjust = url("members_member_adjust_points", member.pk)
    assert client.post(adjust, {"points": "300", "reason": "Late delivery"}).status_code == 302
    refused = client.post(adjust, {"points": "-301", "reason": "Too much"})
    assert refused.status_code == 200
    assert "at most 300 points" in refused.content.decode()
    no_reason = client.post(adjust, {"points": "10", "reason": ""})
    assert no_reason.status_code == 200
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.staff) == (EntryKind.ADJUST, 300, user)


def test_staff_with_the_unlimited_permission_adjust_above_the_limit(member, tiers, programme):
    user = UserFactory(email="lead@example.com", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="adjust_points_unlimited"))
    points_adjust(member=member, points=programme.support_adjust_limit + 1, staff=user, reason="Big goodwill")
    assert PointsAccount.objects.get(member=member).balance == programme.support_adjust_limit + 1


def test_manager_manages_rules_but_cannot_adjust_points(manager, member, tiers, programme):
    client, _user = manager
    assert client.post(url("loyalty_earningrule_add"), rule_form()).status_code == 302
    assert EarningRule.objects.get().name == "Double December"
    adjust = url("members_member_adjust_points", member.pk)
    assert client.post(adjust, {"points": "5", "reason": "x"}).status_code == 403
    assert client.get(url("loyalty_tier_add")).status_code == 200
    assert client.get(url("loyalty_segment_add")).status_code == 200


# --- Audit trail ----------------------------------------------------------------------------------------------


def test_rule_changes_are_audited_with_who_when_before_and_after(manager, programme):
    client, user = manager
    client.post(url("loyalty_earningrule_add"), rule_form())
    rule = EarningRule.objects.get()
    client.post(url("loyalty_earningrule_change", rule.pk), rule_form(multiplier="3"))
    client.post(url("loyalty_earningrule_delete", rule.pk), {"post": "yes"})
    created, changed, deleted = AuditEntry.objects.filter(model="loyalty.earningrule").order_by("id")
    assert (created.action, created.staff, created.object_id) == (AuditAction.CREATE, user, str(rule.pk))
    assert created.after["name"] == "Double December"
    assert (changed.action, changed.before, changed.after) == (
        AuditAction.CHANGE,
        {"multiplier": "2.00"},
        {"multiplier": "3.00"},
    )
    assert deleted.action == AuditAction.DELETE
    assert deleted.before["name"] == "Double December"
    assert not EarningRule.objects.exists()


def test_reward_and_member_changes_are_audited(admin_client, admin_user, member):
    reward = Reward.objects.create(name="Coffee", points_cost=100)
    admin_client.post(url("loyalty_reward_delete", reward.pk), {"post": "yes"})
    consent = {"action": "consent_email_grant", "_selected_action": [member.pk]}
    admin_client.post(url("members_member_changelist"), consent)
    actions = list(AuditEntry.objects.order_by("id").values_list("model", "action", "after"))
    assert actions == [
        ("loyalty.reward", AuditAction.DELETE, {}),
        ("members.member", AuditAction.CHANGE, {"email_marketing": True}),
    ]


def test_points_adjustments_and_api_keys_are_audited(admin_client, admin_user, member, shop, tiers, programme):
    points_adjust(member=member, points=40, staff=admin_user, reason="Goodwill")
    admin_client.post(url("loyalty_apikey_add"), {"shop": shop.pk, "name": "till", "scopes": ["orders"]})
    key = ApiKey.objects.get(name="till")
    admin_client.post(url("loyalty_apikey_changelist"), {"action": "revoke_selected", "_selected_action": [key.pk]})
    adjust, created, revoked = AuditEntry.objects.order_by("id")
    assert (adjust.action, adjust.before, adjust.after, adjust.note) == (
        AuditAction.ADJUST,
        {"balance": 0},
        {"balance": 40},
        "Goodwill",
    )
    assert created.action == AuditAction.CREATE and created.model == "loyalty.apikey"
    assert "key_hash" not in created.after or created.after["key_hash"] == "•••"
    assert revoked.action == AuditAction.REVOKE
    assert revoked.before == {"revoked_at": None} and revoked.after["revoked_at"]


def test_audit_entries_are_never_editable(admin_client, admin_user, member, tiers, programme):
    points_adjust(member=member, points=40, staff=admin_user, reason="Goodwill")
    entry = AuditEntry.objects.get()
    assert not Permission.objects.filter(
        content_type__app_label="members", codename__in=["add_auditentry", "change_auditentry", "delete_auditentry"]
    ).exists()
    assert admin_client.get(url("members_auditentry_add")).status_code == 403
    assert admin_client.post(url("members_auditentry_change", entry.pk), {"note": "x"}).status_code == 403
    assert admin_client.post(url("members_auditentry_delete", entry.pk), {"post": "yes"}).status_code == 403
    view = admin_client.get(url("members_auditentry_change", entry.pk))
    assert view.status_code == 200 and "Goodwill" in view.content.decode()
    entry.note = "rewritten"
    with pytest.raises(AuditImmutableError):
        entry.save()
    with pytest.raises(AuditImmutableError):
        entry.delete()
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(note="x")
    with pytest.raises(AuditImmutableError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get().note == "Goodwill"


@pytest.mark.postgres
def test_postgresql_refuses_to_update_or_delete_audit_entries(admin_user, member, tiers, programme):
    points_adjust(member=member, points=40, staff=admin_user, reason="Goodwill")
    for sql in ("UPDATE members_auditentry SET note = 'x'", "DELETE FROM members_auditentry"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.get().note == "Goodwill"


# --- Earning preview ------------------------------------------------------------------------------------------


def test_preview_shows_the_points_each_rule_gives_a_sample_order(manager, shop, tiers, programme):
    client, _user = manager
    when = timezone.now()
    double = EarningRule.objects.create(
        name="Double running", starts_at=when - dt.timedelta(days=1), categories="running"
    )
    EarningRule.objects.create(name="Old", starts_at=when - dt.timedelta(days=9), ends_at=when - dt.timedelta(days=8))
    local = timezone.localtime(when)
    sample = {
        "shop": shop.pk,
        "tier": tiers[1].pk,
        "amount": "1000.00",
        "tax": "0",
        "occurred_at_0": local.date().isoformat(),
        "occurred_at_1": local.strftime("%H:%M:%S"),
        "items": "SHOE, running, 1, 600\nJACKET, outerwear, 1, 400",
    }
    response = client.post(url("loyalty_earningrule_preview"), sample)
    page = response.content.decode()
    assert response.status_code == 200
    assert double.name in page and "Old" not in page
    breakdown = response.context["breakdown"]
    assert (breakdown.base_points, breakdown.tier_total, breakdown.points) == (1000, 1250, 1850)
    assert ">+600<" in page  # the category rule's line: one more helping of the running share


def test_preview_explains_a_malformed_item_line(manager, shop, programme):
    client, _user = manager
    response = client.post(
        url("loyalty_earningrule_preview"),
        {"shop": shop.pk, "amount": "10", "tax": "0", "occurred_at_0": "2026-12-01", "occurred_at_1": "10:00:00",
         "items": "only two, parts"},
    )  # fmt: skip
    assert "Line 1 is not" in response.content.decode()
    assert response.context["breakdown"] is None


# --- Segments -------------------------------------------------------------------------------------------------


@pytest.fixture
def club(shop, tiers, programme):
    """Four members who differ in every way a segment can filter."""
    from referrals.models import ReferralProgramme
    from referrals.services import referral_attach

    ReferralProgramme.load()
    running = Interest.objects.create(name="Running", slug="running")
    now = timezone.now()
    kari = make_order(shop, order_id="k1", email="kari@example.com", amount="2000.00").order.member
    make_order(shop, order_id="k2", email="kari@example.com", amount="500.00", occurred_at=now - dt.timedelta(days=2))
    ola = make_order(
        shop, order_id="o1", email="ola@example.com", amount="100.00", occurred_at=now - dt.timedelta(days=200)
    ).order.member
    per = MemberFactory(user__email="per@example.com", language="sv")
    kari.interests.add(running)
    consent_set(member=kari, channel=ConsentChannel.EMAIL, granted=True, source=ConsentSource.PORTAL, wording="yes")
    consent_set(member=ola, channel=ConsentChannel.SMS, granted=True, source=ConsentSource.PORTAL, wording="yes")
    friend = Member.objects.create(user=UserFactory(email="friend@example.com"))
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    return {"kari": kari, "ola": ola, "per": per, "friend": friend}


def matched(**filters) -> set[str]:
    tiers = filters.pop("tiers", [])
    interests = filters.pop("interests", [])
    segment = Segment.objects.create(name=str(filters) + str(tiers) + str(interests), **filters)
    segment.tiers.set(tiers)
    segment.interests.set(interests)
    return {member.user.email.split("@")[0] for member in segment_members(segment=segment)}


def test_segment_filters_select_the_right_members(club, tiers):
    everyone = {"kari", "ola", "per", "friend"}
    today = timezone.localdate()
    assert matched() == everyone
    assert matched(tiers=[tiers[1]]) == {"kari"}  # 2500 qualifying points: Silver
    assert matched(interests=list(Interest.objects.all())) == {"kari"}
    assert matched(email_consent=ConsentFilter.YES) == {"kari"}
    assert matched(sms_consent=ConsentFilter.YES) == {"ola"}
    assert matched(sms_consent=ConsentFilter.NO) == everyone - {"ola"}
    assert matched(language="sv") == {"per"}
    assert matched(last_order_after=today - dt.timedelta(days=30)) == {"kari"}
    assert matched(last_order_before=today - dt.timedelta(days=30)) == {"ola"}
    assert matched(spend_min=Decimal("1000")) == {"kari"}
    assert matched(spend_min=Decimal("50"), spend_from=today - dt.timedelta(days=30)) == {"kari"}
    assert matched(spend_max=Decimal("200")) == everyone - {"kari"}
    assert matched(balance_min=2000) == {"kari"}
    assert matched(balance_max=0) == {"per"}  # the friend has the referral welcome bonus
    assert matched(referrals=ReferralFilter.REFERRED_FRIENDS) == {"kari"}
    assert matched(referrals=ReferralFilter.WAS_REFERRED) == {"friend"}
    assert matched(referrals=ReferralFilter.NONE) == {"ola", "per"}
    assert matched(email_consent=ConsentFilter.NO, balance_max=1000) == {"ola", "per", "friend"}


def test_segment_spend_counts_one_currency_at_a_time(club):
    """Ola's 100 NOK and 5,000 SEK are not 5,100 of anything: spend is counted in one currency."""
    swedish = ShopFactory(name="Norrsken", slug="norrsken", currency="SEK")
    make_order(swedish, order_id="s1", email="ola@example.com", amount="5000.00")
    assert matched(spend_min=Decimal("1000")) == {"kari"}  # the programme's currency, NOK
    assert matched(spend_min=Decimal("1000"), spend_currency="SEK") == {"ola"}
    assert matched(spend_max=Decimal("200"), spend_currency="SEK") == {"kari", "per", "friend"}


def test_segment_admin_shows_the_live_count_and_exports_csv(manager, club):
    client, _user = manager
    segment = Segment.objects.create(name="Consented by email", email_consent=ConsentFilter.YES)
    changelist = client.get(url("loyalty_segment_changelist")).content.decode()
    assert '<td class="field-live_count">1</td>' in changelist
    consent_set(
        member=MemberFactory(user__email="new@example.com"),
        channel=ConsentChannel.EMAIL, granted=True, source=ConsentSource.PORTAL, wording="yes",
    )  # fmt: skip
    assert '<td class="field-live_count">2</td>' in client.get(url("loyalty_segment_changelist")).content.decode()
    export = client.get(url("loyalty_segment_export", segment.pk))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert rows[0][:3] == ["member_id", "email", "first_name"]
    assert sorted(row[1] for row in rows[1:]) == ["kari@example.com", "new@example.com"]


def test_segment_message_goes_only_through_consented_channels(manager, club, django_capture_on_commit_callbacks):
    client, user = manager
    segment = Segment.objects.create(name="Everyone")
    form = client.get(url("loyalty_segment_send", segment.pk)).content.decode()
    assert "4 member(s)" in form
    with django_capture_on_commit_callbacks():
        response = client.post(
            url("loyalty_segment_send", segment.pk), {"subject": "Winter sale", "text": "From Friday."}
        )
    assert response.status_code == 302
    messages_send_due()  # the worker renders what it sends
    sent = Message.objects.filter(kind=LoyaltyMessage.SEGMENT)
    by_member = {(m.member.user.email, m.channel) for m in sent.select_related("member__user")}
    assert ("kari@example.com", "email") in by_member
    assert all(email in {"kari@example.com", "ola@example.com"} for email, _channel in by_member)
    kari_email = sent.get(member=club["kari"], channel="email")
    assert kari_email.subject == "Winter sale" and "From Friday." in kari_email.body
    assert AuditEntry.objects.filter(model="loyalty.segmentsend", staff=user).exists()


def test_support_cannot_send_to_a_segment(support, club):
    client, _user = support
    segment = Segment.objects.create(name="Everyone")
    assert client.get(url("loyalty_segment_send", segment.pk)).status_code == 403
    assert client.post(url("loyalty_segment_send", segment.pk), {"subject": "x", "text": "y"}).status_code == 403
    assert not Message.objects.filter(kind=LoyaltyMessage.SEGMENT).exists()


def test_support_sees_each_tier_move_and_what_made_it_but_cannot_change_history(support, shop, tiers, programme):
    client, _user = support
    make_order(shop, order_id="silver", amount="1200.00")  # Bronze -> Silver, by an order
    changelist = client.get(reverse("admin:loyalty_tierchange_changelist"))
    assert changelist.status_code == 200
    row = re.search(r"<tr[^>]*>.*?kari@example\.com.*?</tr>", changelist.content.decode(), re.S).group(0)
    assert row.index("Bronze") < row.index("Silver") and "An order lifted them" in row
    change = TierChange.objects.get()
    assert client.post(reverse("admin:loyalty_tierchange_delete", args=[change.pk]), {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:loyalty_tierchange_add")).status_code == 403
    assert TierChange.objects.count() == 1


def test_supports_limit_is_a_daily_sum_and_the_refusal_names_who_can_do_more(member, tiers, programme):
    """Issue 14, finding 6: six adjustments of 100 no longer pass a limit of 500 one by one."""
    programme.support_adjust_limit = 500
    programme.save()
    user = UserFactory(email="desk@example.com", is_staff=True)
    user.groups.add(Group.objects.get(name=SUPPORT))
    lead = UserFactory(email="lead@example.com", is_staff=True)
    lead.user_permissions.add(Permission.objects.get(codename="adjust_points_unlimited"))
    other = MemberFactory()

    for n in range(5):  # 500 in all, across two members, up and down
        points_adjust(member=member if n % 2 else other, points=100 if n < 4 else -100, staff=user, reason="Goodwill")
    with pytest.raises(AdjustmentOverLimit) as refused:
        points_adjust(member=member, points=1, staff=user, reason="One more")

    assert "at most 500 points a day and have 0 left today" in refused.value.message
    assert "lead@example.com" in refused.value.message
    with time_machine.travel(timezone.now() + dt.timedelta(days=1)):
        points_adjust(member=member, points=100, staff=user, reason="A new day")
