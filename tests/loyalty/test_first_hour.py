"""A newcomer's first hour (issue 16): the entry tier from the day one joins, links in messages to the server that
runs, the welcome after the address is confirmed, the vouchers page, and activity by when things happened."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from allauth.account.models import EmailAddress
from allauth.account.signals import email_confirmed
from django.core import mail
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from loyalty.messages import LoyaltyMessage
from loyalty.models import PointsAccount, Reward, Voucher
from loyalty.orders import refund_record
from loyalty.rewards.catalogue import reward_redeem, voucher_use
from members.messaging import MemberMessage, messages_send_due, unsubscribe_url
from members.models import Member, Message
from members.services import member_enrol, member_enrol_by_phone
from tests.conftest import make_order
from tests.factories import MemberFactory

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.timedelta(days=1)


def sign_up(client, email: str = "nora@example.com") -> Member:
    response = client.post(reverse("account_signup"), {"email": email, "password1": "gr0nn-eple-tre"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return Member.objects.select_related("user").get(user__email=email)


def confirm_link() -> str:
    match = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body)
    assert match, mail.outbox[-1].body
    return match.group(0)


# --- 1. The entry tier from the day one joins ------------------------------------------------------------------


@pytest.mark.django_db
def test_a_portal_sign_up_is_at_the_entry_tier_before_any_points(client, tiers, programme):
    member = sign_up(client)
    account = PointsAccount.objects.select_related("tier").get(member=member)
    assert (account.tier.name, account.balance) == ("Bronze", 0)


@pytest.mark.django_db
@pytest.mark.parametrize("enrol", ["email", "phone"])
def test_members_enrolled_by_a_shop_are_at_the_entry_tier_too(tiers, programme, enrol):
    if enrol == "email":
        member, _created = member_enrol(email="ola@example.com")
    else:
        member, _created = member_enrol_by_phone(phone="+4791234567")
    assert PointsAccount.objects.get(member=member).tier == tiers[0]


@pytest.mark.django_db
def test_the_admin_member_list_shows_a_new_members_entry_tier(admin_client, client, tiers, programme):
    member = sign_up(client)
    html = admin_client.get(reverse("admin:members_member_changelist")).content.decode()
    row = next(line.split("</tr>")[0] for line in html.split("<tr") if member.user.email in line)
    assert "Bronze" in row


@pytest.fixture
def back_to_the_latest_afterwards():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_the_latest_afterwards")
def test_migration_0034_opens_an_entry_tier_account_for_members_without_one(shop, tiers, programme):
    earner = make_order(shop, order_id="1", email="kari@example.com", amount="1500.00").order.member
    newcomer = MemberFactory(user__email="nora@example.com")  # made as before: no account
    assert not PointsAccount.objects.filter(member=newcomer).exists()

    executor = MigrationExecutor(connection)
    executor.migrate([("loyalty", "0033_storefront")])
    executor = MigrationExecutor(connection)
    executor.migrate([("loyalty", "0034_accounts_for_every_member")])

    # Columns the schema had at 0034 only (later migrations add fields the model has now).
    accounts = PointsAccount.objects.values_list("tier", "balance")
    assert accounts.get(member=newcomer)[0] == tiers[0].pk
    assert accounts.get(member=earner) == (tiers[1].pk, 1500)  # an existing account is left as it was


# --- 2. Links in messages: one configured address, the one `make run` serves -----------------------------------


@pytest.mark.django_db
def test_every_link_in_a_message_uses_the_configured_site_address(settings, shop, tiers, programme):
    settings.KLUBB_PORTAL_URL = "http://127.0.0.1:8101/"
    member, _created = member_enrol(email="kari@example.com", language="en")
    make_order(shop, order_id="1", amount="1500.00")  # points earned, and Silver
    reward_redeem(member=member, reward=Reward.objects.create(name="Mug", points_cost=100))
    messages_send_due()
    kinds = set(Message.objects.values_list("kind", flat=True))
    assert {MemberMessage.WELCOME, LoyaltyMessage.POINTS_EARNED, LoyaltyMessage.TIER_UP} <= kinds
    assert LoyaltyMessage.REWARD_REDEEMED in kinds
    for message in mail.outbox:
        links = re.findall(r"https?://[^\s>\"]+", message.body)
        assert links, message.body
        assert all(link.startswith("http://127.0.0.1:8101/") for link in links), (message.subject, links)
    assert unsubscribe_url(member=member, kind=LoyaltyMessage.TIER_UP).startswith("http://127.0.0.1:8101/")


def test_make_run_points_message_links_at_the_port_it_serves(tmp_path):
    """``make run PORT=8101`` runs every step with KLUBB_PORTAL_URL=http://127.0.0.1:8101/ (Python stubbed: it
    prints what it was given), and an address set by hand wins."""
    stub = tmp_path / "python"
    stub.write_text('#!/bin/sh\necho "KLUBB_PORTAL_URL=$KLUBB_PORTAL_URL"\n')
    stub.chmod(0o755)
    env = {key: value for key, value in os.environ.items() if key != "KLUBB_PORTAL_URL"}
    # STAMP= and the make target's own "messages" step (Babel) need nothing but the shared virtualenv.
    args = ["make", "-s", "run", "PORT=8101", f"PY={stub}", "STAMP="]
    served = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    urls = set(re.findall(r"KLUBB_PORTAL_URL=(\S*)", served))
    assert urls == {"http://127.0.0.1:8101/"}, served
    env["KLUBB_PORTAL_URL"] = "https://klubb.example.com/"
    served = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout
    assert set(re.findall(r"KLUBB_PORTAL_URL=(\S*)", served)) == {"https://klubb.example.com/"}


# --- 3. The welcome after the address is confirmed ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_portal_sign_up_is_welcomed_once_the_address_is_confirmed_and_only_once(client, tiers, programme):
    member = sign_up(client)
    messages_send_due()
    assert not Message.objects.filter(member=member, kind=MemberMessage.WELCOME).exists()
    assert [m.subject for m in mail.outbox if "Welcome" in m.subject or "Velkommen" in m.subject] == []

    link = confirm_link()
    client.post(link)
    assert EmailAddress.objects.get(user=member.user).verified
    client.post(link)  # confirmed again (a second click)
    address = EmailAddress.objects.get(user=member.user)
    email_confirmed.send(sender=EmailAddress, request=None, email_address=address)  # and once more by allauth
    messages_send_due()
    welcomes = Message.objects.filter(member=member, kind=MemberMessage.WELCOME)
    assert welcomes.count() == 1
    assert sum("Welcome" in m.subject for m in mail.outbox) == 1


@pytest.mark.django_db
def test_a_member_enrolled_by_a_shop_is_welcomed_at_once_and_not_again_on_confirming(client, shop, tiers, programme):
    member, _created = member_enrol(email="ola@example.com", language="en")
    assert Message.objects.filter(member=member, kind=MemberMessage.WELCOME).count() == 1
    client.post(reverse("account_request_login_code"), {"email": "ola@example.com"})  # claims the account
    code = re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", mail.outbox[-1].body, re.MULTILINE).group(1)
    client.post(reverse("account_confirm_login_code"), {"code": code})
    assert EmailAddress.objects.get(user=member.user).verified
    assert Message.objects.filter(member=member, kind=MemberMessage.WELCOME).count() == 1


# --- 6. The vouchers page ----------------------------------------------------------------------------------------


@pytest.fixture
def kari(shop, tiers, programme):
    make_order(shop, order_id="1001", amount="1500.00")
    return Member.objects.get(user__email="kari@example.com")


@pytest.mark.django_db
def test_the_vouchers_page_shows_value_dates_and_state_and_is_in_the_navigation(client, kari, shop):
    mug = Reward.objects.create(name="Coffee mug", points_cost=300, how_to_use="Show it.")
    with time_machine.travel(dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)):
        used = reward_redeem(member=kari, reward=mug)
        voucher_use(shop=shop, code=used.code, order_id="5001")
        expired = reward_redeem(member=kari, reward=mug)
    Voucher.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - DAY)
    unused = reward_redeem(member=kari, reward=mug)
    Voucher.objects.filter(pk=unused.pk).update(expires_at=dt.datetime(2027, 5, 31, 12, tzinfo=dt.UTC))
    client.force_login(kari.user)

    home = client.get(reverse("portal:home")).content.decode()
    assert f'href="{reverse("portal:vouchers")}"' in home.split('class="tabs"')[1].split("</nav>")[0]
    assert unused.code in home and expired.code not in home  # "ready to use" lists no expired voucher
    html = client.get(reverse("portal:vouchers")).content.decode()
    rows = {code: row for row in html.split('data-testid="voucher-row"')[1:] for code in [used.code, expired.code,
            unused.code] if code in row}  # fmt: skip
    assert "Unused" in rows[unused.code] and "Copy code" in rows[unused.code]
    assert "May 31, 2027" in rows[unused.code] and "Coffee mug" in rows[unused.code] and "300" in rows[unused.code]
    assert "Expired" in rows[expired.code] and "Copy code" not in rows[expired.code]
    assert "Used" in rows[used.code] and "March 2, 2026" in rows[used.code]  # issued on, and used on
    vouchers_tab = html.split('class="tabs"')[1].split("</nav>")[0]
    assert re.search(r'href="/vouchers/"\s+aria-current="page"', vouchers_tab)


# --- 8. Activity by when it happened --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_activity_is_in_the_order_things_happened_and_a_refund_has_its_own_date(client, shop, tiers, programme):
    may, june = dt.datetime(2026, 5, 10, 12, tzinfo=dt.UTC), dt.datetime(2026, 6, 20, 12, tzinfo=dt.UTC)
    with time_machine.travel(dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)):
        # The shop reports June's order first, then May's (an import, a late webhook).
        make_order(shop, order_id="JUNE", amount="200.00", occurred_at=june)
        make_order(shop, order_id="MAY", amount="300.00", occurred_at=may)
    with time_machine.travel(dt.datetime(2026, 8, 3, 12, tzinfo=dt.UTC)):
        refund_record(shop=shop, order_id="MAY", refund_id="R-1", amount=Decimal("100.00"))
    client.force_login(Member.objects.get().user)
    html = client.get(reverse("portal:activity")).content.decode()
    refund = html.index("Return on order MAY")
    june_order, may_order = html.index("Order JUNE"), html.index("Order MAY")
    assert refund < june_order < may_order
    dates = re.findall(r'<time datetime="([^"]+)"', html)
    assert [d[:10] for d in dates] == ["2026-08-03", "2026-06-20", "2026-05-10"]


# --- 4. "300 points to go", never "300 left" ------------------------------------------------------------------------

TO_GO = {
    "en": ("700 points to go", "500 points to Silver"),
    "nb": ("700 poeng til", "500 poeng til Silver"),
    "da": ("700 point til", "500 point til Silver"),
    "sv": ("700 poäng till", "500 poäng till Silver"),
}


@pytest.mark.django_db
@pytest.mark.parametrize("language", TO_GO)
def test_points_still_needed_read_as_points_to_go_in_every_language(client, shop, tiers, programme, language):
    make_order(shop, order_id="1", amount="500.00")  # 500 points, Bronze; Silver at 1,000
    member = Member.objects.get()
    Member.objects.filter(pk=member.pk).update(language=language)
    Reward.objects.create(name="Jacket", points_cost=1200)
    client.force_login(member.user)
    client.cookies["django_language"] = language
    to_reward, to_tier = TO_GO[language]
    rewards = client.get(reverse("portal:rewards")).content.decode()
    home = client.get(reverse("portal:home")).content.decode()
    assert to_reward in rewards
    assert to_tier in home
    for left in ("igjen", "tilbage", "kvar"):  # "300 left", the wrong meaning
        assert f"poeng {left}" not in rewards + home and f"point {left}" not in rewards + home
        assert f"poäng {left}" not in rewards + home


@pytest.mark.parametrize(
    ("language", "says", "never"),
    [
        ("en", "Is nora@example.com your address?", "is an email address for user"),
        ("nb", "Er nora@example.com adressen din?", "er en e-postadresse for bruker"),
        ("da", "Er nora@example.com din adresse?", "er en e-mailadresse for bruger"),
        ("sv", "Är nora@example.com din adress?", "är en e-postadress för användare"),
    ],
)
def test_the_confirmation_page_asks_in_plain_words_in_each_language(client, tiers, programme, language, says, never):
    client.cookies["django_language"] = language
    sign_up(client)

    page = client.get(confirm_link()).content.decode()

    assert says in page
    assert never not in page.lower()
