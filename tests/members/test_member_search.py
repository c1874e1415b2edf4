"""The admin's member search: part of an email, a first or last name, a phone number or a member id, every word
of the search matching; on PostgreSQL from trigram indexes, never a scan of the member table."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from members.models import Member
from members.selectors import members_matching
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def people() -> dict[str, Member]:
    return {
        "kari": MemberFactory(
            user__email="kari.nordmann@example.com",
            user__first_name="Kari",
            user__last_name="Nordmann",
            phone="+4791234567",
        ),
        "ola": MemberFactory(user__email="ola@fjellpost.no", user__first_name="Ola", user__last_name="Hansen"),
        "kristin": MemberFactory(
            user__email="kristin@example.com", user__first_name="Kristin", user__last_name="Nordmann-Lie"
        ),
    }


def found(terms: str) -> set[str]:
    return {m.user.first_name.lower() for m in members_matching(Member.objects.select_related("user"), terms=terms)}


@pytest.mark.parametrize(
    ("terms", "expected"),
    [
        ("NORDMANN", {"kari", "kristin"}),  # part of an email and of a last name, any case
        ("fjellpost", {"ola"}),  # part of an email's domain
        ("hansen", {"ola"}),  # a last name
        ("9123", {"kari"}),  # part of a phone number
        ("nordmann lie", {"kristin"}),  # every word must match
        ('"kari.nordmann@"', {"kari"}),  # a quoted word is one word
        ("nobody-here", set()),
    ],
)
def test_staff_find_members_by_part_of_an_email_a_name_or_a_phone(people, terms, expected):
    assert found(terms) == expected


def test_a_member_id_finds_that_member(people):
    assert found(str(people["ola"].public_id)) == {"ola"}


def test_the_admin_list_searches_with_it(admin_client, people):
    page = admin_client.get(reverse("admin:members_member_changelist"), {"q": "nordmann"})

    assert page.status_code == 200
    assert {m.pk for m in page.context["cl"].result_list} == {people["kari"].pk, people["kristin"].pk}


@pytest.mark.postgres
@pytest.mark.parametrize(
    "index",
    [
        "members_user_email_trgm",
        "members_user_first_name_trgm",
        "members_user_last_name_trgm",
        "members_member_phone_trgm",
    ],
)
def test_on_postgresql_the_search_reads_the_trigram_indexes(people, index):
    searched = members_matching(Member.objects.all(), terms="nordmann")
    sql, params = searched.query.sql_with_params()
    with connection.cursor() as cursor:
        # A table of three rows is cheapest read whole or through its primary key: leave the planner only bitmap
        # scans, which it can take from an index only if the index's expression is the search's own.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert index in plan
