"""The staff admin: every page opens, pages stay at a fixed number of queries, points move only through
the adjust form (a service call), the ledger is read-only, and API keys are shown once and revocable."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty.campaigns.actions import event_record
from loyalty.campaigns.segments import segment_message_send
from loyalty.ledger import points_adjust, points_redeem
from loyalty.models import (
    ActionKind,
    ApiKey,
    EarningRule,
    EntryKind,
    InboundWebhook,
    LedgerEntry,
    Order,
    OrderSource,
    PointsAccount,
    PointsAction,
    Programme,
    ReplenishmentRule,
    Reward,
    Segment,
    WebhookSubscription,
    WinbackOffer,
)
from loyalty.openings import COLUMN_PRESETS, balance_rows_read, balances_import, file_digest
from loyalty.orders import RefundDetails, ReturnedItem, refund_record
from loyalty.rewards import redemption_reserve
from loyalty.rewards.catalogue import reward_redeem
from loyalty.shops import MemberRef, api_key_create, api_key_hash
from loyalty.shops.storefront import storefront_create
from loyalty.staff.admin import NEGATIVE_BALANCE_WARNING
from members.admin import MemberAdmin
from members.models import Interest, Member, User
from referrals.models import ReferralProgramme
from referrals.services import referral_attach, referral_click_record
from tests.conftest import give_two_factor, make_order
from tests.factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db

RAW_KEY = re.compile(r"klb_[0-9a-f]{8}_[A-Za-z0-9_-]{16,}")


def url(name: str, *args: object) -> str:
    return reverse(f"admin:{name}", args=args)


def adjust_url(member: Member) -> str:
    return url("members_member_adjust_points", member.pk)


def member_change_url(member: Member) -> str:
    return url("members_member_change", member.pk)


def count_queries(client, path: str) -> tuple[int, object]:
    client.get(path)  # warm the per-process caches (content types) so only the page itself is counted
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    assert response.status_code == 200
    return len(queries), response


@pytest.fixture
def populated(shop, tiers, programme, admin_user):
    """One row of every model the admin shows, made the way production makes them."""
    # Outbound webhooks: a subscription whose receiver refuses connections, so deliveries and attempts exist
    WebhookSubscription.objects.create(shop=shop, url="http://127.0.0.1:9/hook", secret="s", events=["points.changed"])
    make_order(shop, order_id="1001", amount="1500.00", external_id="cust-1")
    refund_record(
        shop=shop,
        order_id="1001",
        refund_id="r-1",
        amount=Decimal("100.00"),
        details=RefundDetails(reason="too_small", note="Next size up", items=(ReturnedItem(sku="SKU-1", quantity=1),)),
    )
    api_key_create(shop=shop, name="checkout", created_by=admin_user)
    storefront_create(shop=shop, allowed_origins="https://www.nordlys.example")
    InboundWebhook.objects.create(
        shop=shop, platform=OrderSource.SHOPIFY, webhook_id="wh-1", topic="orders/paid", status="processed"
    )
    assert Group.objects.filter(name="Support").exists()  # the staff roles come with the migrations

    Interest.objects.create(name="Running", slug="running")
    # Referrals: Kari's code (made at enrolment), a click on it, and a friend she referred
    ReferralProgramme.load()
    kari = Member.objects.get(user__email="kari@example.com")
    referral_click_record(code=kari.referral_code, ip_address="127.0.0.1", user_agent="test")
    friend = Member.objects.create(user=User.objects.create_user(email="ola@example.com"))
    referral_attach(friend=friend, code=kari.referral_code.code, source="portal", new_member=True)
    # Rewards and vouchers
    reward_redeem(
        member=Member.objects.get(user__email="kari@example.com"),
        reward=Reward.objects.create(name="Free coffee", points_cost=100),
    )
    redemption_reserve(shop=shop, redemption_id="checkout-1", member=kari, points=100)

    WinbackOffer.objects.create(name="Spring", offer="15 % off")
    # Earning rules, points for actions, segments and their messages, the audit trail
    EarningRule.objects.create(name="Double December", starts_at=timezone.now() - dt.timedelta(days=1))
    # Replenishment: a rule for the shoe of make_order's items, so the next order schedules Kari's reminder
    ReplenishmentRule.objects.create(name="Shoes", sku="SKU-1", interval_days=180, remind_days_before=14)
    make_order(shop, order_id="1002", amount="100.00")
    PointsAction.objects.create(name="Review", kind=ActionKind.EVENT, event_type="product_review", points=50)
    event_record(
        shop=shop, event_type="product_review", key="r-1", member=MemberRef(email="kari@example.com"),
        occurred_at=None, data={},
    )  # fmt: skip
    segment = Segment.objects.create(name="Everyone")
    segment_message_send(segment=segment, subject="News", text="Hello", staff=admin_user)
    # Opening balances from another programme
    data = b"email,points\nopening@example.com,100\n"
    balances_import(rows=balance_rows_read(io.StringIO(data.decode()), columns=COLUMN_PRESETS["klubb"]),
                    batch_id="smile-1", digest=file_digest(data), staff=admin_user)  # fmt: skip
    return Member.objects.get(user__email="kari@example.com")


def test_every_registered_model_has_a_working_changelist_and_change_page(admin_client, populated):
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        changelist = admin_client.get(url(f"{opts.app_label}_{opts.model_name}_changelist"))
        assert changelist.status_code == 200, opts.label
        searched = admin_client.get(url(f"{opts.app_label}_{opts.model_name}_changelist"), {"q": "kari", "_facets": 1})
        assert searched.status_code == 200, opts.label
        add = admin_client.get(url(f"{opts.app_label}_{opts.model_name}_add"))
        expected_add = 200 if model_admin.has_add_permission(changelist.wsgi_request) else 403
        assert add.status_code == expected_add, opts.label
        obj = model._default_manager.first()
        if opts.app_label in {"members", "loyalty", "referrals"}:
            assert obj is not None, f"the fixture should create a {opts.label}"
        if obj is not None:
            change = admin_client.get(url(f"{opts.app_label}_{opts.model_name}_change", obj.pk))
            assert change.status_code == 200, opts.label


def test_member_changelist_makes_the_same_number_of_queries_for_3_or_30_members(admin_client, shop, tiers, programme):
    path = url("members_member_changelist")

    def add_members(count: int) -> None:
        for _ in range(count):
            member = MemberFactory()
            points_adjust(member=member, points=10, staff=None, reason="Welcome")

    add_members(3)
    make_order(shop, order_id="silver", amount="1200.00")  # Kari reaches Silver
    few, _response = count_queries(admin_client, path)
    add_members(27)
    many, response = count_queries(admin_client, path)
    assert few == many
    content = response.content.decode()
    assert content.count("Bronze") >= 30
    assert "Silver" in content
    assert ">1,200<" in content


def test_member_changelist_filters_by_tier_and_sorts_by_balance(admin_client, shop, tiers, programme):
    make_order(shop, order_id="1", amount="1200.00", email="silver@example.com")
    make_order(shop, order_id="2", amount="10.00", email="bronze@example.com")
    silver = next(t for t in tiers if t.name == "Silver")
    response = admin_client.get(url("members_member_changelist"), {"tier": silver.pk})
    assert [m.user.email for m in response.context["cl"].result_list] == ["silver@example.com"]
    response = admin_client.get(url("members_member_changelist"), {"balance": "positive", "o": "-4"})
    assert [m.user.email for m in response.context["cl"].result_list] == ["silver@example.com", "bronze@example.com"]


def test_member_change_page_shows_balance_tier_progress_and_recent_entries(admin_client, shop, tiers, programme):
    make_order(shop, order_id="1001", amount="1200.00")
    member = Member.objects.get(user__email="kari@example.com")
    for n in range(21):
        points_adjust(member=member, points=1, staff=None, reason=f"Entry number {n:02d}")
    response = admin_client.get(member_change_url(member))
    content = response.content.decode()
    assert "<strong>1,221</strong>" in content
    assert "Silver" in content and "#6e7781" in content
    assert 'role="progressbar"' in content and "points to Gold" in content
    assert "Entry number 20" in content
    # Only the 20 most recent: the order's entry and the first adjustment are left out.
    assert "Entry number 00" not in content
    assert "Entry number 01" in content
    assert adjust_url(member) in content
    assert str(NEGATIVE_BALANCE_WARNING) not in content


def test_member_change_page_query_count_does_not_grow_with_entries(
    admin_client, admin_user, shop, other_shop, tiers, programme
):
    make_order(shop, order_id="a", amount="100.00", email="few@example.com")
    few = Member.objects.get(user__email="few@example.com")
    points_adjust(member=few, points=1, staff=admin_user, reason="Goodwill")
    for n in range(15):  # orders from two shops, refunds and staff adjustments, all within the 20 shown
        make_order(shop if n % 2 else other_shop, order_id=f"m{n}", amount="100.00", email="many@example.com")
        many = Member.objects.get(user__email="many@example.com")
        points_adjust(member=many, points=1, staff=admin_user, reason=f"r{n}")
    refund_record(shop=shop, order_id="m1", refund_id="r-1", amount=Decimal("50.00"))
    few_count, _ = count_queries(admin_client, member_change_url(few))
    many_count, _ = count_queries(admin_client, member_change_url(many))
    assert few_count == many_count


def test_negative_balance_after_clawback_is_explained(admin_client, shop, tiers, programme):
    make_order(shop, order_id="1001", amount="1000.00")
    member = Member.objects.get(user__email="kari@example.com")
    points_redeem(member=member, points=800)
    refund_record(shop=shop, order_id="1001", refund_id="r-1", amount=Decimal("1000.00"))
    assert PointsAccount.objects.get(member=member).balance == -800

    content = admin_client.get(member_change_url(member)).content.decode()
    assert str(NEGATIVE_BALANCE_WARNING) in content
    assert "-800" in content
    changelist = admin_client.get(url("members_member_changelist"), {"balance": "negative"})
    assert list(changelist.context["cl"].result_list) == [member]


def test_adjust_form_writes_one_adjust_entry_with_staff_and_reason(admin_client, admin_user, shop, tiers, programme):
    make_order(shop, order_id="1001", amount="500.00")
    member = Member.objects.get(user__email="kari@example.com")
    earned = LedgerEntry.objects.get(member=member)
    before = LedgerEntry.objects.count()

    assert admin_client.get(adjust_url(member)).status_code == 200
    response = admin_client.post(
        adjust_url(member), {"points": "-120", "reason": "  Double-counted order  ", "corrects": earned.pk}
    )

    assert response.status_code == 302
    assert response["Location"] == member_change_url(member)
    assert LedgerEntry.objects.count() == before + 1
    entry = LedgerEntry.objects.filter(member=member).latest("id")
    assert entry.kind == EntryKind.ADJUST
    assert entry.points == -120
    assert entry.staff == admin_user
    assert entry.reason == "Double-counted order"
    assert entry.corrects == earned
    assert entry.balance_after == 380
    assert PointsAccount.objects.get(member=member).balance == 380
    page = admin_client.get(response["Location"]).content.decode()
    assert "The balance is now 380." in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"points": "50", "reason": ""}, "reason", "This field is required."),
        ({"points": "50", "reason": "   "}, "reason", "This field is required."),
        ({"points": "0", "reason": "Typo"}, "points", "Enter a number of points other than zero."),
        ({"points": "", "reason": "Typo"}, "points", "This field is required."),
        ({"points": "-101", "reason": "Too much"}, "points", "The member does not have enough points."),
        ({"points": "5", "reason": "Wrong entry", "corrects": "999999"}, "corrects", "no ledger entry with that id"),
    ],
)
def test_invalid_adjustment_shows_form_errors_and_writes_nothing(
    admin_client, shop, tiers, programme, data, field, message
):
    make_order(shop, order_id="1001", amount="100.00")
    member = Member.objects.get(user__email="kari@example.com")
    before = list(LedgerEntry.objects.values_list("id", flat=True))

    response = admin_client.post(adjust_url(member), data)

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert list(LedgerEntry.objects.values_list("id", flat=True)) == before
    assert PointsAccount.objects.get(member=member).balance == 100


def test_adjustment_cannot_correct_another_members_entry(admin_client, shop, tiers, programme):
    make_order(shop, order_id="1", amount="100.00", email="one@example.com")
    make_order(shop, order_id="2", amount="100.00", email="two@example.com")
    one = Member.objects.get(user__email="one@example.com")
    others_entry = LedgerEntry.objects.get(member__user__email="two@example.com")

    response = admin_client.post(adjust_url(one), {"points": "5", "reason": "x", "corrects": others_entry.pk})

    assert response.status_code == 200
    assert "corrects" in response.context["form"].errors
    assert LedgerEntry.objects.filter(member=one).count() == 1


def test_staff_without_permission_cannot_adjust_points(client, member, tiers, programme):
    staff = UserFactory(email="staff@example.com", is_staff=True)
    give_two_factor(staff)
    staff.user_permissions.add(Permission.objects.get(codename="view_member"))
    client.force_login(staff)

    assert client.get(adjust_url(member)).status_code == 403
    assert client.post(adjust_url(member), {"points": "100", "reason": "Please"}).status_code == 403
    assert not LedgerEntry.objects.exists()
    assert adjust_url(member) not in client.get(member_change_url(member)).content.decode()


def test_staff_with_add_ledgerentry_permission_can_adjust_points(client, member, tiers, programme):
    staff = UserFactory(email="support@example.com", is_staff=True)
    give_two_factor(staff)
    staff.user_permissions.add(*Permission.objects.filter(codename__in=["view_member", "add_ledgerentry"]))
    client.force_login(staff)

    assert adjust_url(member) in client.get(member_change_url(member)).content.decode()
    response = client.post(adjust_url(member), {"points": "100", "reason": "Birthday"})

    assert response.status_code == 302
    entry = LedgerEntry.objects.get(member=member)
    assert (entry.kind, entry.points, entry.staff, entry.reason) == (EntryKind.ADJUST, 100, staff, "Birthday")


def test_ledger_entries_cannot_be_added_changed_or_deleted_in_the_admin(admin_client, shop, tiers, programme):
    make_order(shop, order_id="1001", amount="100.00")
    entry = LedgerEntry.objects.get()

    assert admin_client.get(url("loyalty_ledgerentry_add")).status_code == 403
    assert admin_client.post(url("loyalty_ledgerentry_add"), {"points": "5"}).status_code == 403
    change = admin_client.post(
        url("loyalty_ledgerentry_change", entry.pk), {"points": "1000000", "reason": "x", "kind": "adjust"}
    )
    assert change.status_code == 403
    assert admin_client.get(url("loyalty_ledgerentry_delete", entry.pk)).status_code == 403
    assert admin_client.post(url("loyalty_ledgerentry_delete", entry.pk), {"post": "yes"}).status_code == 403
    admin_client.post(
        url("loyalty_ledgerentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert list(LedgerEntry.objects.values_list("id", "points", "reason")) == [(entry.pk, 100, "")]
    view = admin_client.get(url("loyalty_ledgerentry_change", entry.pk))
    assert view.status_code == 200
    assert view.context["has_change_permission"] is False
    assert "delete_selected" not in admin_client.get(url("loyalty_ledgerentry_changelist")).content.decode()


def test_points_account_order_and_refund_are_read_only(admin_client, shop, tiers, programme):
    order = make_order(shop, order_id="1001", amount="100.00").order
    for name in ("pointsaccount", "order", "refund", "inboundwebhook"):
        assert admin_client.get(url(f"loyalty_{name}_add")).status_code == 403
    account = PointsAccount.objects.get()
    response = admin_client.post(url("loyalty_pointsaccount_change", account.pk), {"balance": "99999"})
    assert response.status_code == 403
    assert PointsAccount.objects.get().balance == 100
    assert admin_client.post(url("loyalty_order_change", order.pk), {"amount": "1"}).status_code == 403
    order.refresh_from_db()
    assert order.amount == Decimal("100.00")


def test_an_orders_page_shows_the_tier_it_earned_at(admin_client, shop, tiers, programme):
    make_order(shop, order_id="1", amount="1000.00")  # earned at Bronze, and made the member Silver
    order = make_order(shop, order_id="2", amount="100.00").order
    first = Order.objects.get(external_id="1")
    assert "Bronze" in admin_client.get(url("loyalty_order_change", first.pk)).content.decode()
    assert "Silver" in admin_client.get(url("loyalty_order_change", order.pk)).content.decode()
    silver_only = admin_client.get(url("loyalty_order_changelist"), {"tier__id__exact": order.tier_id})
    assert [row.external_id for row in silver_only.context["cl"].result_list] == ["2"]


def test_api_key_is_shown_once_stored_hashed_works_and_can_be_revoked(admin_client, admin_user, shop):
    add = admin_client.get(url("loyalty_apikey_add"), {"shop": shop.pk})
    assert set(add.context["adminform"].form.fields) == {"shop", "name", "scopes"}

    response = admin_client.post(
        url("loyalty_apikey_add"), {"shop": shop.pk, "name": "checkout", "scopes": ["orders"]}, follow=True
    )

    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"] if RAW_KEY.search(str(m))]
    assert len(shown) == 1
    assert "it will not be shown again" in shown[0]
    raw_key = RAW_KEY.search(shown[0]).group(0)
    key = ApiKey.objects.get()
    assert (key.shop, key.name, key.created_by) == (shop, "checkout", admin_user)
    assert key.key_hash == api_key_hash(raw_key)
    assert key.prefix == raw_key[: len(key.prefix)]

    # Never again: not on the next page, the key's own page (no hash either), or the list.
    for path in (
        url("loyalty_apikey_change", key.pk),
        url("loyalty_apikey_changelist"),
        url("loyalty_shop_change", shop.pk),
    ):
        page = admin_client.get(path).content.decode()
        assert raw_key not in page
        assert key.key_hash not in page
        assert key.prefix in page
    assert admin_client.post(url("loyalty_apikey_change", key.pk), {"name": "renamed"}).status_code == 403

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    assert api.get("/api/v1/orders/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None

    revoke = admin_client.post(
        url("loyalty_apikey_changelist"), {"action": "revoke_selected", "_selected_action": [key.pk]}
    )
    assert revoke.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/v1/orders/").status_code == 401


def test_programme_settings_are_a_singleton(admin_client, programme):
    assert admin_client.get(url("loyalty_programme_add")).status_code == 403
    assert admin_client.post(url("loyalty_programme_delete", programme.pk), {"post": "yes"}).status_code == 403
    response = admin_client.post(
        url("loyalty_programme_change", programme.pk),
        {
            "name": "Nordlys Klubb",
            "currency": "NOK",
            "points_per_unit": "2",
            "amount_basis": "incl_vat",
            "tier_window_months": "12",
            "max_order_amount": "50000",
            "min_earning_amount": "0",  # the form shows it filled in
            "pending_days": "14",
            "points_expire_months": "24",
            "expiry_warning_days": "30",
            "tier_grace_days": "30",
            "birthday_bonus": "100",
            "point_value": "0.02",
            "redeem_min_points": "100",
            "redeem_step_points": "100",
            "redeem_max_share": "50",
            "reservation_minutes": "30",
            "refund_returns_points": "on",
            "support_adjust_limit": "500",
        },
    )
    assert response.status_code == 302
    assert Programme.load().points_per_unit == Decimal("2")
    assert Programme.load().pending_days == 14
    assert Programme.objects.count() == 1


def test_the_programme_page_shows_every_setting():
    """Its fieldsets list the fields: a setting left out of them would be invisible to staff."""
    listed = {name for _title, options in admin.site._registry[Programme].fieldsets for name in options["fields"]}
    editable = {field.name for field in Programme._meta.fields if field.editable and not field.primary_key}

    assert editable - listed == set()


def test_user_admin_creates_users_by_email(admin_client):
    response = admin_client.post(
        url("members_user_add"),
        {
            "email": "New.Staff@Example.com",
            "usable_password": "true",
            "password1": "a-long-Passphrase-2026",
            "password2": "a-long-Passphrase-2026",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(email="new.staff@example.com")
    assert user.check_password("a-long-Passphrase-2026")

    duplicate = admin_client.post(
        url("members_user_add"),
        {"email": "NEW.staff@example.com", "usable_password": "false"},
    )
    assert duplicate.status_code == 200
    assert "already exists" in str(duplicate.context["adminform"].form.errors["email"])
    assert User.objects.filter(email__iexact="new.staff@example.com").count() == 1


def test_loyalty_extends_the_member_admin_of_members_instead_of_replacing_it(rf, admin_user, member):
    model_admin = admin.site._registry[Member]
    assert type(model_admin) is MemberAdmin
    request = rf.get("/")
    request.user = admin_user
    columns = [getattr(column, "__name__", column) for column in model_admin.get_list_display(request)]
    assert columns == ["email", "name", "tier", "balance", "language", "enrolled_at"]
    fieldsets = model_admin.get_fieldsets(request, member)
    assert [str(name) for name, _options in fieldsets][:2] == ["None", "Points"]
    assert model_admin.get_fieldsets(request, None) == list(MemberAdmin.fieldsets)
