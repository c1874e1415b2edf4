"""The dashboard a programme manager trusts (issue 16): points by when they happened, customer value per tier,
how members buy, reward popularity, cohort retention, and the accounting view of the liability (breakage and
deferred revenue), each against figures worked out by hand; charts with axes; a query count that stays put."""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import re
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty.ledger import points_expire
from loyalty.models import PointsLot, Reward
from loyalty.orders import OrderInput, OrderItem, RefundDetails, ReturnedItem, order_record, refund_record
from loyalty.rewards.catalogue import reward_redeem, voucher_cancel
from loyalty.shops import MemberRef
from loyalty.staff import charts
from loyalty.staff.dashboard.build import RETURNS_SHOWN
from members.models import Member
from tests.conftest import make_order
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

DASHBOARD = "/admin/dashboard/"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
PERIOD = {"first": "2026-10-26", "last": "2026-11-24"}  # 30 days; the previous period is 2026-09-26 to 10-25
ZONE = dt.timezone(dt.timedelta(hours=1))


def at(year: int, month: int, day: int) -> dt.datetime:
    return dt.datetime(year, month, day, 12, 0, tzinfo=ZONE)


def member(email: str) -> Member:
    return Member.objects.get(user__email=email)


def joined(email: str, when: dt.datetime) -> None:
    Member.objects.filter(user__email=email).update(enrolled_at=when)


def board(client, period: dict[str, str] = PERIOD):
    return client.get(DASHBOARD, {**period, "refresh": "1"}).context["board"]


def figures(client) -> dict[str, tuple[object, object]]:
    return {figure.key: (figure.current, figure.previous) for figure in board(client).figures}


@pytest.fixture
def frozen(time_machine):
    time_machine.move_to(NOW)


def test_points_count_on_the_orders_date_and_a_clawback_on_the_refunds(admin_client, frozen, shop, tiers):
    """Orders placed in the previous period but reported today are the previous period's points; a refund
    reported today of such an order takes its points back today."""
    make_order(
        shop, order_id="late", email="kari@example.com", amount="1000.00", occurred_at=NOW - dt.timedelta(days=40)
    )
    make_order(shop, order_id="now", email="ola@example.com", amount="200.00", occurred_at=NOW - dt.timedelta(days=3))
    refund_record(shop=shop, order_id="late", refund_id="r1", amount=Decimal("400.00"))
    got = figures(admin_client)
    assert got["points_issued"] == (200, 1000)
    assert got["points_clawed_back"] == (400, 0)
    series = dict((day, issued) for day, issued, _redeemed, _expired in board(admin_client).points_series)
    assert series[dt.date(2026, 11, 21)] == 200  # the order's date, not today's
    assert series[dt.date(2026, 11, 24)] == 0
    assert len(series) == 30  # a point for every day of the period


def test_customer_value_per_tier_is_spend_per_member_in_the_last_twelve_months(admin_client, frozen, shop, tiers):
    make_order(shop, order_id="k1", email="kari@example.com", amount="1000.00", occurred_at=NOW - dt.timedelta(days=3))
    make_order(shop, order_id="k2", email="kari@example.com", amount="500.00", occurred_at=NOW - dt.timedelta(days=2))
    make_order(shop, order_id="o1", email="ola@example.com", amount="200.00", occurred_at=NOW - dt.timedelta(days=100))
    make_order(shop, order_id="p1", email="per@example.com", amount="300.00", occurred_at=NOW - dt.timedelta(days=200))
    make_order(
        shop, order_id="a1", email="ancient@example.com", amount="700.00", occurred_at=NOW - dt.timedelta(days=400)
    )
    refund_record(shop=shop, order_id="o1", refund_id="r1", amount=Decimal("100.00"))
    rows = board(admin_client).table("clv").rows
    assert rows == [
        # Bronze: Ola (200 less a 100 refund), Per (300) and Ancient (nothing in 12 months): 400 / 3 members
        ["Bronze", "NOK", 3, 2, Decimal("400.00"), Decimal("133.33"), Decimal("200.00")],
        ["Silver", "NOK", 1, 1, Decimal("1500.00"), Decimal("1500.00"), Decimal("1500.00")],  # Kari
        ["Gold", "NOK", 0, 0, Decimal("0.00"), Decimal("0.00"), Decimal("0.00")],
    ]


def test_members_buying_and_the_note_that_shops_report_only_members(admin_client, frozen, shop, tiers):
    make_order(shop, order_id="k1", email="kari@example.com", amount="1000.00", occurred_at=NOW - dt.timedelta(days=3))
    make_order(shop, order_id="k2", email="kari@example.com", amount="500.00", occurred_at=NOW - dt.timedelta(days=2))
    make_order(shop, order_id="o1", email="ola@example.com", amount="200.00", occurred_at=NOW - dt.timedelta(days=1))
    make_order(shop, order_id="p1", email="per@example.com", amount="300.00", occurred_at=NOW - dt.timedelta(days=50))
    response = admin_client.get(DASHBOARD, {**PERIOD, "refresh": "1"})
    assert response.context["board"].table("members_buying").rows == [
        ["Members who ordered", 2],
        ["Share of members who ordered, percent", Decimal("66.7")],  # 2 of 3
        ["Repeat purchase rate, percent", Decimal("50.0")],  # Kari
        ["Orders per member who ordered", Decimal("1.50")],  # 3 orders by 2
        ["Average order value (NOK)", Decimal("566.67")],  # 1700 / 3
    ]
    assert "Shops report only members' orders" in response.content.decode()


def test_reward_popularity_counts_redemptions_points_and_stock_in_the_period(
    admin_client, frozen, shop, tiers, time_machine
):
    make_order(shop, order_id="k1", email="kari@example.com", amount="3000.00", occurred_at=NOW - dt.timedelta(days=90))
    kari = member("kari@example.com")
    coffee = Reward.objects.create(name="Coffee", points_cost=100)
    tote = Reward.objects.create(name="Tote bag", points_cost=300, stock=5)
    Reward.objects.create(name="Cap", points_cost=200, is_active=False)  # never redeemed, switched off: not shown
    Reward.objects.create(name="Socks", points_cost=150)  # on offer, nobody chose it
    time_machine.move_to(NOW - dt.timedelta(days=60))
    reward_redeem(member=kari, reward=tote)  # before the period: not counted, but out of stock
    time_machine.move_to(NOW)
    reward_redeem(member=kari, reward=tote)
    reward_redeem(member=kari, reward=tote)
    reward_redeem(member=kari, reward=coffee)
    voucher_cancel(voucher=reward_redeem(member=kari, reward=coffee), staff=UserFactory(is_staff=True))
    assert board(admin_client).table("rewards").rows == [
        ["Tote bag", 2, 600, 0, 2],
        ["Coffee", 1, 100, 1, "—"],
        ["Socks", 0, 0, 0, "—"],
    ]


def test_cohort_retention_by_month_joined(admin_client, frozen, shop, tiers):
    """Share of each month's new members who ordered in the calendar month 1, 3, 6 and 12 months later; "—"
    while that month is not over."""
    make_order(shop, order_id="a1", email="a@example.com", amount="100.00", occurred_at=at(2026, 2, 15))
    make_order(shop, order_id="a2", email="a@example.com", amount="100.00", occurred_at=at(2026, 7, 1))
    make_order(shop, order_id="b1", email="b@example.com", amount="100.00", occurred_at=at(2026, 4, 5))
    make_order(shop, order_id="b2", email="b@example.com", amount="100.00", occurred_at=at(2026, 4, 20))
    make_order(shop, order_id="c1", email="c@example.com", amount="100.00", occurred_at=at(2026, 11, 2))
    make_order(shop, order_id="d1", email="d@example.com", amount="100.00", occurred_at=at(2025, 12, 2))
    make_order(shop, order_id="e1", email="e@example.com", amount="100.00", occurred_at=at(2025, 6, 2))
    joined("a@example.com", at(2026, 1, 10))
    joined("b@example.com", at(2026, 1, 20))
    joined("c@example.com", at(2026, 10, 5))
    joined("d@example.com", at(2025, 11, 3))
    joined("e@example.com", at(2025, 5, 3))  # more than twelve months before: no row
    assert board(admin_client).table("retention").rows == [
        ["2025-11", 1, Decimal("100.0"), Decimal("0.0"), Decimal("0.0"), "—"],  # d ordered in December
        ["2026-01", 2, Decimal("50.0"), Decimal("50.0"), Decimal("50.0"), "—"],  # a in Feb and Jul, b in Apr
        ["2026-10", 1, "—", "—", "—", "—"],  # November is not over
    ]


@pytest.fixture
def expired_history(frozen, shop, tiers, programme, time_machine):
    """June: Kari earns 1000 and spends 400, Ola earns 500; in July the rest of June's points expire (1100 of
    1500). In November Ola earns 200, which expire in December."""
    programme.point_value = Decimal("0.05")
    programme.points_expire_months = 1
    programme.save()
    time_machine.move_to(at(2026, 6, 10))
    make_order(shop, order_id="k1", email="kari@example.com", amount="1000.00")
    reward_redeem(member=member("kari@example.com"), reward=Reward.objects.create(name="Bag", points_cost=400))
    time_machine.move_to(at(2026, 6, 20))
    make_order(shop, order_id="o1", email="ola@example.com", amount="500.00")
    time_machine.move_to(at(2026, 7, 25))
    points_expire()
    time_machine.move_to(NOW)
    make_order(shop, order_id="o2", email="ola@example.com", amount="200.00", occurred_at=at(2026, 11, 1))


def test_breakage_is_estimated_from_the_months_whose_points_have_all_expired(admin_client, expired_history):
    current = board(admin_client)
    assert current.table("breakage").rows == [
        ["2026-06", 1500, 1100, Decimal("73.3")],
        ["2026-11", 200, 0, "—"],  # not expired yet: not in the estimate
    ]
    books = current.accounting
    assert (books.currency, books.outstanding, books.liability) == ("NOK", 200, Decimal("10.00"))
    assert books.breakage == Decimal("73.3")
    assert books.deferred_revenue == Decimal("2.67")  # 10.00 x (1 - 0.733)
    assert books.cohorts == 1


def test_accounting_view_is_explained_and_downloads_as_csv(admin_client, expired_history):
    page = admin_client.get(DASHBOARD, PERIOD).content.decode()
    assert "Accounting view of the points liability" in page
    assert "IFRS 15" in page and "liability \u00d7 (1 \u2212 breakage rate)" in page
    assert "Deferred revenue (NOK)" in page
    response = admin_client.get(DASHBOARD, {**PERIOD, "export": "accounting"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1:] == [
        ["Outstanding points", "200"],
        ["Value of one point (NOK)", "0.0500"],
        ["Liability (NOK)", "10.00"],
        ["Breakage rate, percent", "73.3"],
        ["Months of issue the rate is estimated from", "1"],
        ["Deferred revenue (NOK)", "2.67"],
    ]


def test_without_expired_months_the_whole_liability_is_deferred(admin_client, frozen, shop, tiers, programme):
    make_order(shop, order_id="k1", email="kari@example.com", amount="1000.00", occurred_at=NOW)
    books = board(admin_client).accounting
    assert books.breakage is None
    assert books.deferred_revenue == books.liability == Decimal("10.00")  # 1000 points at 0.01


def test_the_migration_fills_in_what_each_lot_lost_to_expiry(expired_history):
    PointsLot.objects.update(expired=0)
    migration = importlib.import_module("loyalty.migrations.0035_dashboard_breakage")
    migration.expired_from_entries(django_apps, None)
    june = PointsLot.objects.filter(earned_at__month=6).order_by("earned_at")
    assert [(lot.points, lot.expired) for lot in june] == [(1000, 600), (500, 500)]


def test_members_over_time_has_a_point_for_every_day_and_month(admin_client, frozen, shop, tiers):
    make_order(shop, order_id="k1", email="kari@example.com", amount="100.00")
    joined("kari@example.com", at(2026, 11, 10))
    make_order(shop, order_id="o1", email="ola@example.com", amount="100.00")
    joined("ola@example.com", at(2025, 1, 10))
    series = board(admin_client).members_series
    assert len(series) == 30
    assert series[0] == (dt.date(2026, 10, 26), 1) and series[-1] == (dt.date(2026, 11, 24), 2)
    assert dict(series)[dt.date(2026, 11, 9)] == 1 and dict(series)[dt.date(2026, 11, 10)] == 2
    year = board(admin_client, {"first": "2025-11-25", "last": "2026-11-24"}).members_series
    assert [day for day, _n in year][:2] == [dt.date(2025, 11, 1), dt.date(2025, 12, 1)]
    assert len(year) == 13 and year[-1] == (dt.date(2026, 11, 1), 2)


def test_charts_have_axes_ticks_and_dates(admin_client, frozen, shop, tiers):
    make_order(shop, order_id="k1", email="kari@example.com", amount="1234.00", occurred_at=NOW - dt.timedelta(days=3))
    page = admin_client.get(DASHBOARD, {**PERIOD, "refresh": "1"}).content.decode()
    assert page.count('class="kd-axes"') == 6  # three charts, each wide and narrow (for phones)
    ticks = re.findall(r'class="kd-tick"[^>]*>([^<]+)<', page)
    assert "26 Oct" in ticks and "24 Nov" in ticks  # the period's first and last day under the time axes
    assert "0" in ticks and "1\u202f000" in ticks and "1\u202f500" in ticks  # 1234 points: a top of 1 500
    assert "Bronze" in ticks  # the tiers under their bars
    polyline = re.search(r'class="kd-line" points="([^"]+)"', page).group(1)
    assert len(polyline.split()) == 30


def _grow(shop, count: int, start: int) -> None:
    for n in range(start, start + count):
        make_order(
            shop,
            order_id=f"g{n}",
            email=f"m{n}@example.com",
            amount="3000.00",
            occurred_at=NOW - dt.timedelta(days=n % 300),
        )
        reward_redeem(
            member=member(f"m{n}@example.com"), reward=Reward.objects.create(name=f"R{n}", points_cost=100, stock=9)
        )
        refund_record(shop=shop, order_id=f"g{n}", refund_id=f"r{n}", amount=Decimal("100.00"))
        joined(f"m{n}@example.com", NOW - dt.timedelta(days=(n * 37) % 380))


def test_query_count_does_not_grow_with_members_orders_rewards_or_history(
    admin_client, expired_history, shop, django_assert_max_num_queries
):
    admin_client.get(DASHBOARD, {**PERIOD, "refresh": "1"})  # warm per-process caches
    with CaptureQueriesContext(connection) as small:
        admin_client.get(DASHBOARD, {**PERIOD, "refresh": "1"})
    _grow(shop, 25, 0)
    points_expire(now=NOW + dt.timedelta(days=400))
    with CaptureQueriesContext(connection) as large, django_assert_max_num_queries(len(small)):
        response = admin_client.get(DASHBOARD, {**PERIOD, "refresh": "1"})
    assert len(large) == len(small)
    assert len(response.context["board"].table("rewards").rows) > 20


def test_flow_bars_fit_their_day_on_wide_and_narrow_charts():
    series = [(dt.date(2026, 11, 1) + dt.timedelta(days=n), 100, 50, 10) for n in range(30)]
    for width in (charts.WIDTH, charts.NARROW):
        chart = charts.flow_bars(series, width)
        assert chart.axes.width == width
        slot = (width - charts.LEFT - charts.RIGHT) / 30
        assert all(bar.width < slot / 3 for bar in chart.bars)
        assert max(bar.x + bar.width for bar in chart.bars) <= chart.axes.right
        assert chart.axes.x_ticks[0].label == "1 Nov"


# --- Returns (issue 17) ---------------------------------------------------------------------------


def ordered_items(shop, order_id: str, email: str, when: dt.datetime, *lines: tuple[str, str, int, str]) -> None:
    items = tuple(
        OrderItem(sku=sku, name=sku.title(), category=category, quantity=quantity, unit_price=Decimal(price))
        for sku, category, quantity, price in lines
    )
    amount = sum((item.unit_price * item.quantity for item in items), Decimal("0"))
    order_record(
        shop=shop,
        order=OrderInput(
            order_id=order_id, member=MemberRef(email=email), amount=amount, currency="NOK", occurred_at=when,
            items=items,
        ),
    )  # fmt: skip


def returned(shop, order_id: str, refund_id: str, amount: str, reason: str = "", **goods: int) -> None:
    items = tuple(ReturnedItem(sku=sku.replace("_", "-"), quantity=n) for sku, n in goods.items())
    refund_record(
        shop=shop, order_id=order_id, refund_id=refund_id, amount=Decimal(amount),
        details=RefundDetails(reason=reason, items=items),
    )  # fmt: skip


@pytest.fixture
def returns_history(frozen, shop, tiers, programme):
    """Kari: 2 shoes at 900 and socks at 200; Ola: a shoe and a hat at 100, in the period. Kari sent a shoe back
    (too small); Ola the hat (damaged) and was refunded 50 without naming goods. An older order's return is the
    previous period's."""
    ordered_items(
        shop, "k1", "kari@example.com", at(2026, 11, 20), ("SHOE", "running", 2, "900"), ("SOCK", "running", 1, "200")
    )
    ordered_items(
        shop, "o1", "ola@example.com", at(2026, 11, 21), ("SHOE", "running", 1, "900"), ("HAT", "hats", 1, "100")
    )
    ordered_items(shop, "old", "per@example.com", at(2026, 9, 1), ("SHOE", "running", 1, "900"))
    returned(shop, "k1", "rk1", "900.00", "too_small", SHOE=1)
    returned(shop, "o1", "ro1", "100.00", "damaged", HAT=1)
    returned(shop, "o1", "ro2", "50.00")
    returned(shop, "old", "rold", "900.00", "too_small", SHOE=1)


def test_returns_per_product_and_category_are_shares_of_what_the_periods_orders_ordered(admin_client, returns_history):
    tables = {table.key: table.rows for table in board(admin_client).tables}
    assert tables["returns_products"] == [
        ["SHOE", "Shoe", "running", "NOK", 3, 1, Decimal("33.3"), Decimal("2700.00"), Decimal("900.00"),
         Decimal("33.3"), "Too small"],
        ["HAT", "Hat", "hats", "NOK", 1, 1, Decimal("100.0"), Decimal("100.00"), Decimal("100.00"),
         Decimal("100.0"), "Damaged or faulty"],
        ["SOCK", "Sock", "running", "NOK", 1, 0, Decimal("0"), Decimal("200.00"), Decimal("0.00"), Decimal("0"), "—"],
    ]  # fmt: skip
    assert tables["returns_categories"] == [
        ["running", "NOK", 4, 1, Decimal("25.0"), Decimal("2900.00"), Decimal("900.00"), Decimal("31.0"), "Too small"],
        ["hats", "NOK", 1, 1, Decimal("100.0"), Decimal("100.00"), Decimal("100.00"), Decimal("100.0"),
         "Damaged or faulty"],
    ]  # fmt: skip
    # Two orders, both refunded in part: 1050 of 3000
    assert tables["returns"] == [
        ["NOK", 2, 2, Decimal("100.0"), Decimal("3000.00"), Decimal("1050.00"), Decimal("35.0")]
    ]
    assert tables["return_reasons"] == [
        ["Too small", "NOK", 1, Decimal("33.3"), 1, Decimal("900.00")],
        ["Damaged or faulty", "NOK", 1, Decimal("33.3"), 1, Decimal("100.00")],
        ["No reason given", "NOK", 1, Decimal("33.3"), 0, Decimal("50.00")],
    ]


def test_returns_show_on_the_dashboard_and_download_as_csv_in_the_staffs_language(admin_client, returns_history):
    page = admin_client.get(DASHBOARD, PERIOD).content.decode()
    assert 'id="returns"' in page and 'id="table-returns_products"' in page and "Damaged or faulty" in page
    response = admin_client.get(DASHBOARD, {**PERIOD, "export": "return_reasons"}, HTTP_ACCEPT_LANGUAGE="nb")
    assert response["Content-Disposition"] == 'attachment; filename="klubb-return_reasons-20261026-20261124.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Returårsak"
    assert rows[1] == ["For liten", "NOK", "1", "33.3", "1", "900.00"]


def test_the_page_shows_the_products_with_most_returns_and_the_csv_all(admin_client, frozen, shop, tiers, programme):
    lines = [(f"P{n:02d}", "bulk", 1, "10") for n in range(RETURNS_SHOWN + 5)]
    ordered_items(shop, "big", "kari@example.com", at(2026, 11, 20), *lines)
    page = admin_client.get(DASHBOARD, PERIOD).content.decode()
    assert "5 more rows in the CSV." in page
    response = admin_client.get(DASHBOARD, {**PERIOD, "export": "returns_products"})
    assert len(list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))) == RETURNS_SHOWN + 6
