"""Admin lists of the tables that grow with every order stay cheap: no scan of the whole table per page view."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.admin_site import EstimatedCountPaginator
from members.models import Member
from tests.conftest import make_order

LISTS = ["admin:loyalty_ledgerentry_changelist", "admin:loyalty_order_changelist",
         "admin:members_member_changelist", "admin:members_message_changelist"]  # fmt: skip


@pytest.mark.django_db
@pytest.mark.parametrize("name", LISTS)
def test_the_big_lists_count_once_and_have_no_date_hierarchy_scan(admin_client, shop, tiers, programme, name):
    make_order(shop, order_id="1")
    with CaptureQueriesContext(connection) as queries:
        assert admin_client.get(reverse(name)).status_code == 200
    sql = [query["sql"].upper() for query in queries.captured_queries]
    assert not [s for s in sql if "DISTINCT" in s and ("DATE_TRUNC" in s or "DJANGO_DATETIME_TRUNC" in s)]
    assert len([s for s in sql if s.startswith("SELECT COUNT(*)")]) <= 1


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_unfiltered_list_of_a_big_table_takes_postgresqls_estimate(shop, tiers, programme, monkeypatch):
    for n in range(5):
        make_order(shop, order_id=str(n), email=f"m{n}@example.com")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE members_member")
    monkeypatch.setattr(EstimatedCountPaginator, "ESTIMATE_FROM", 1)
    everyone = EstimatedCountPaginator(Member.objects.order_by("pk"), 100)
    with CaptureQueriesContext(connection) as queries:
        assert everyone.count == 5  # the statistics' figure, fresh after ANALYZE
    assert "reltuples" in queries.captured_queries[0]["sql"]
    some = EstimatedCountPaginator(Member.objects.filter(user__email__startswith="m1").order_by("pk"), 100)
    assert some.count == 1  # a filtered list is counted exactly
