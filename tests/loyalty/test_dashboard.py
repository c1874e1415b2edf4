"""The staff dashboard: who may see it, the figures for a period against the one before, CSV of every table,
SVG charts without any CDN, and a query count that does not grow with the club."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.ledger import points_expire
from loyalty.models import OutboxEvent, Reward, WinbackOffer
from loyalty.rewards.catalogue import reward_redeem
from loyalty.rewards.winback import winback_send
from loyalty.roles import PROGRAMME_MANAGER, SUPPORT
from members.models import Member
from tests.conftest import give_two_factor, make_order
from tests.factories import MemberFactory, ShopFactory, UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/dashboard/"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
PERIOD = {"first": "2026-10-26", "last": "2026-11-24"}  # 30 days; the previous period is 2026-09-26 to 10-25
TABLES = [
    "summary", "clv", "members_buying", "rewards", "retention", "accounting", "breakage", "tiers", "tier_movement",
    "tier_revenue", "referral_funnel", "members_series", "points_series",
]  # fmt: skip


def staff(role: str) -> Client:
    user = UserFactory(email=f"{role.lower().replace(' ', '-')}@example.com", is_staff=True)
    give_two_factor(user)
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW)


@pytest.fixture
def club(frozen, shop, tiers, programme):
    """Orders in this period and the previous one, a redemption, expired points and a win-back return."""
    programme.point_value = Decimal("0.05")
    programme.points_expire_months = 1
    programme.save()
    earlier = NOW - dt.timedelta(days=40)
    make_order(shop, order_id="p1", email="old@example.com", amount="300.00", occurred_at=earlier)
    Member.objects.filter(user__email="old@example.com").update(enrolled_at=earlier)
    make_order(shop, order_id="1", email="kari@example.com", amount="1000.00", occurred_at=NOW - dt.timedelta(days=3))
    make_order(shop, order_id="2", email="kari@example.com", amount="500.00", occurred_at=NOW - dt.timedelta(days=2))
    make_order(shop, order_id="3", email="ola@example.com", amount="200.00", occurred_at=NOW - dt.timedelta(days=1))
    kari = Member.objects.get(user__email="kari@example.com")
    reward_redeem(member=kari, reward=Reward.objects.create(name="Coffee", points_cost=100))
    points_expire(now=NOW)  # old@'s 300 points from 40 days ago expire today
    return kari


def figures(response) -> dict[str, tuple[object, object]]:
    return {figure.key: (figure.current, figure.previous) for figure in response.context["board"].figures}


def test_programme_managers_see_the_dashboard_linked_from_the_admin_index(club):
    client = staff(PROGRAMME_MANAGER)
    assert reverse("staff-dashboard") in client.get(reverse("admin:index")).content.decode()
    response = client.get(DASHBOARD, PERIOD)
    assert response.status_code == 200
    assert "Members over time" in response.content.decode()


def test_staff_without_the_permission_and_strangers_cannot_open_it(club, client):
    support = staff(SUPPORT)
    assert support.get(DASHBOARD).status_code == 403
    assert reverse("staff-dashboard") not in support.get(reverse("admin:index")).content.decode()
    assert client.get(DASHBOARD).status_code == 302  # to the sign-in


def test_figures_for_the_period_and_the_one_before(admin_client, club):
    got = figures(admin_client.get(DASHBOARD, PERIOD))
    assert got["members_total"] == (3, 1)
    assert got["members_new"] == (2, 1)
    assert got["active_30"] == (2, 1)  # old@ ordered 11 days before the previous period ended
    assert got["active_90"] == (3, 1)
    assert got["orders"] == (3, 1)
    assert got["revenue_nok"] == (Decimal("1700.00"), Decimal("300.00"))
    assert got["average_order_nok"] == (Decimal("566.67"), Decimal("300.00"))
    assert got["repeat_rate"] == (Decimal("50.0"), Decimal("0"))  # Kari ordered twice, Ola once
    # All points were recorded today; they count when their orders were placed: old@'s 40 days ago, before.
    assert got["points_issued"] == (1000 + 625 + 200, 300)  # Kari's second order at Silver, x1.25
    assert got["points_redeemed"] == (100, 0)
    assert got["points_expired"] == (300, 0)
    assert got["redemption_rate"] == (Decimal("5.5"), Decimal("0"))  # 100 / 1825
    assert got["frequency"] == (Decimal("1.50"), Decimal("1.00"))  # 3 orders by 2 members; 1 by 1
    assert got["outstanding"] == (1725, 0)
    assert got["liability"] == (Decimal("86.25"), Decimal("0.00"))
    labels = {figure.key: figure.label for figure in admin_client.get(DASHBOARD, PERIOD).context["board"].figures}
    assert labels["liability"] == "Liability of outstanding points (NOK)"


def test_tier_tables_and_referral_funnel(admin_client, club, tiers):
    board = admin_client.get(DASHBOARD, PERIOD).context["board"]
    assert board.table("tiers").rows == [["Bronze", 2], ["Silver", 1], ["Gold", 0]]
    assert board.table("tier_movement").rows == [["Bronze", "Silver", "up", 1]]
    # Each order counts at the tier it earned at: Kari's first order made her Silver, so it is Bronze's.
    revenue = {row[0]: row[1:] for row in board.table("tier_revenue").rows}
    assert revenue["Silver"] == ["NOK", 1, 1, Decimal("500.00"), Decimal("500.00")]
    assert revenue["Bronze"] == ["NOK", 2, 2, Decimal("1200.00"), Decimal("600.00")]
    funnel = dict((row[0], row[1]) for row in board.table("referral_funnel").rows)
    assert funnel["Friends joined"] == 0


def test_tier_movement_survives_an_emptied_outbox_and_a_renamed_tier(admin_client, club, tiers):
    OutboxEvent.objects.all().delete()
    silver = tiers[1]
    silver.name = "Sølv"
    silver.save()
    board = admin_client.get(DASHBOARD, PERIOD).context["board"]
    assert board.table("tier_movement").rows == [["Bronze", "Sølv", "up", 1]]


def test_money_is_never_added_across_currencies(admin_client, club):
    """A Swedish shop's kronor are not Norwegian kroner: each currency has its own revenue figures and rows."""
    swedish = ShopFactory(name="Norrsken", slug="norrsken", currency="SEK")
    make_order(
        swedish, order_id="s1", email="kari@example.com", amount="800.00", occurred_at=NOW - dt.timedelta(days=1)
    )
    response = admin_client.get(DASHBOARD, PERIOD)
    got = figures(response)
    assert got["orders"] == (4, 1)
    assert got["revenue_nok"] == (Decimal("1700.00"), Decimal("300.00"))  # as before the Swedish order
    assert got["revenue_sek"] == (Decimal("800.00"), 0)
    assert got["average_order_sek"] == (Decimal("800.00"), 0)
    labels = [figure.label for figure in response.context["board"].figures]
    assert labels.index("Revenue reported (NOK)") < labels.index("Revenue reported (SEK)")  # the programme's first
    rows = response.context["board"].table("tier_revenue").rows
    assert ["Silver", "SEK", 1, 1, Decimal("800.00"), Decimal("800.00")] in rows
    assert ["Silver", "NOK", 1, 1, Decimal("500.00"), Decimal("500.00")] in rows


def test_winback_returns_count_members_who_ordered_after_the_code(admin_client, frozen, shop, tiers, programme):
    member = MemberFactory(user__email="gone@example.com")
    Member.objects.filter(pk=member.pk).update(enrolled_at=NOW - dt.timedelta(days=400))
    WinbackOffer.objects.create(name="Come back", offer="20 % off", inactive_days=180)
    winback_send(now=NOW - dt.timedelta(days=10))
    make_order(shop, order_id="back", email="gone@example.com", amount="100.00", occurred_at=NOW)
    got = figures(admin_client.get(DASHBOARD, PERIOD))
    assert got["winback_issued"] == (1, 0)
    assert got["winback_returned"] == (1, 0)


@pytest.mark.parametrize("key", TABLES)
def test_every_table_downloads_as_csv(admin_client, club, key):
    response = admin_client.get(DASHBOARD, {**PERIOD, "export": key})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"klubb-{key}-20261026-20261124.csv" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    table = admin_client.get(DASHBOARD, PERIOD).context["board"].table(key)
    assert rows[0] == table.header
    assert len(rows) == len(table.rows) + 1
    assert admin_client.get(DASHBOARD, {**PERIOD, "export": "nope"}).status_code == 404


def test_charts_are_inline_svg_without_any_external_resource(admin_client, club):
    page = admin_client.get(DASHBOARD, PERIOD).content.decode()
    assert page.count("<svg viewBox") >= 3
    assert "<polyline" in page and "<rect" in page
    external = re.findall(r'(?:src|href)="(https?://[^"]+)"', page)
    assert external == []


def test_an_invalid_period_is_explained_and_the_default_shown(admin_client, club):
    response = admin_client.get(DASHBOARD, {"first": "2026-11-24", "last": "2026-11-01"})
    assert response.status_code == 200
    assert "the start first" in response.content.decode()
    assert response.context["first"] == dt.date(2026, 10, 26)


def _grow(shop, count: int, start: int) -> None:
    for n in range(start, start + count):
        make_order(shop, order_id=f"g{n}", email=f"m{n}@example.com", amount="100.00", occurred_at=NOW)


def test_query_count_does_not_grow_with_the_number_of_members(admin_client, club, shop, django_assert_max_num_queries):
    fresh = {**PERIOD, "refresh": "1"}  # build the board each time, not from the cache
    admin_client.get(DASHBOARD, fresh)  # warm per-process caches (content types, sessions)
    with CaptureQueriesContext(connection) as small:
        admin_client.get(DASHBOARD, fresh)
    _grow(shop, 30, 0)
    with CaptureQueriesContext(connection) as large, django_assert_max_num_queries(len(small)):
        response = admin_client.get(DASHBOARD, fresh)
    assert len(large) == len(small)
    assert figures(response)["members_total"][0] == 33


def test_the_board_is_kept_for_five_minutes_and_counted_again_on_request(admin_client, club, shop, time_machine):
    first = admin_client.get(DASHBOARD, PERIOD)
    _grow(shop, 2, 0)
    with CaptureQueriesContext(connection) as cached:
        kept = admin_client.get(DASHBOARD, PERIOD)
    assert figures(kept)["members_total"] == figures(first)["members_total"]  # from the cache
    assert not [q for q in cached.captured_queries if "SUM(" in q["sql"].upper()]
    assert "kept for 5 minutes" in kept.content.decode()

    counted = admin_client.get(DASHBOARD, {**PERIOD, "refresh": "1"})
    assert figures(counted)["members_total"][0] == figures(first)["members_total"][0] + 2
    time_machine.shift(dt.timedelta(minutes=6))
    _grow(shop, 1, 2)
    assert figures(admin_client.get(DASHBOARD, PERIOD))["members_total"][0] == figures(counted)["members_total"][0] + 1
