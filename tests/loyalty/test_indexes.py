"""Every read of the tables that grow with each order has an index to use, after ``0040_narrower_indexes``.

That migration dropped the foreign keys' own indexes where another index leads with the same column, or where
partial indexes take their place (bench/RESULTS.md, issue 18). With sequential scans priced out, PostgreSQL still
scans the whole table only when no index serves the read: these reads must never come to that.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet

from loyalty.ledger.checks import lot_mismatches, pending_mismatches
from loyalty.models import EarningRuleUse, LedgerEntry, Order, PointsLot, Refund

READS: dict[str, tuple[QuerySet, str]] = {
    # a member's orders (the portal's history, the referral check's addresses)
    "member's orders": (Order.objects.filter(member_id=1), "order_member_occurred_idx"),
    "same address": (Order.objects.filter(member_id=1, address_fingerprint="ab12"), "order_member_occurred_idx"),
    # a shop's orders (the admin's filter; deleting a shop under PROTECT)
    "shop's orders": (Order.objects.filter(shop_id=1), "order_shop_external_id_unique"),
    "member's entries": (LedgerEntry.objects.filter(member_id=1), "entry_member"),
    "order's entries": (LedgerEntry.objects.filter(order_id=1), "entry_order_idx"),
    "refund's entries": (LedgerEntry.objects.filter(refund_id=1), "entry_refund_idx"),
    "staff's entries": (LedgerEntry.objects.filter(staff_id=1), "entry_staff_idx"),
    "corrections": (LedgerEntry.objects.filter(corrects_id=1), "entry_corrects_idx"),
    "member's open lots": (PointsLot.objects.filter(member_id=1, remaining__gt=0), "lot_open_idx"),
    "rule's uses": (EarningRuleUse.objects.filter(rule_id=1), "earning_rule_use_"),
    "refunds of an order": (Refund.objects.filter(order_id=1), "loyalty_refund_order_id"),
}


def plan(sql: str, params: tuple = ()) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # only the test's transaction
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("read", READS)
def test_each_read_by_a_foreign_key_has_an_index(read):
    queryset, index = READS[read]
    sql, params = queryset.query.sql_with_params()
    found = plan(sql, params)
    assert "Seq Scan" not in found
    assert index in found


@pytest.mark.postgres
@pytest.mark.django_db
@pytest.mark.parametrize("check", [lot_mismatches, pending_mismatches])
def test_check_ledger_sums_each_members_lots_by_an_index(check, django_assert_num_queries):
    with django_assert_num_queries(1) as queries:
        check()
    found = plan(queries.captured_queries[0]["sql"])
    assert "Seq Scan on loyalty_pointslot" not in found
    assert "lot_open_idx" in found
