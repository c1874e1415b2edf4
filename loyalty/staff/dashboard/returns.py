"""Returns: of the goods ordered in the period, how many came back and why, per product (SKU) and per category.

Everything here is about the orders placed in the period (by ``Order.occurred_at``) and what their refunds returned
so far, whenever the refunds happened: a return rate is a share of what was ordered, so both sides must be the
same orders (a recent period's rate still grows as returns arrive). Quantities come from the returned lines
refunds report (``RefundLine``); money per currency, never added across currencies. A refund that named no goods
counts in the money of its order's currency, not in any product's.

The ordered side is read from the orders' items (JSON) by the database, one aggregate query (PostgreSQL's
``jsonb_array_elements``, SQLite's ``json_each``): no order is loaded into Python.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext

from loyalty.models import Order, Refund, RefundLine, ReturnReason
from loyalty.staff.dashboard.types import Period, ratio

CENT = Decimal("0.01")

_ORDERED_SQL = {
    "postgresql": """
        SELECT o.currency, COALESCE(i->>'sku', ''), COALESCE(i->>'category', ''), MAX(COALESCE(i->>'name', '')),
               SUM((i->>'quantity')::bigint), SUM((i->>'quantity')::numeric * (i->>'unit_price')::numeric)
        FROM {table} o CROSS JOIN LATERAL jsonb_array_elements(o.items) AS i
        WHERE o.occurred_at >= %s AND o.occurred_at < %s AND COALESCE(i->>'gift_card', 'false') <> 'true'
        GROUP BY 1, 2, 3
    """,
    "sqlite": """
        SELECT o.currency, COALESCE(json_extract(i.value, '$.sku'), ''),
               COALESCE(json_extract(i.value, '$.category'), ''), MAX(COALESCE(json_extract(i.value, '$.name'), '')),
               SUM(json_extract(i.value, '$.quantity')),
               SUM(json_extract(i.value, '$.quantity') * CAST(json_extract(i.value, '$.unit_price') AS REAL))
        FROM {table} o, json_each(o.items) AS i
        WHERE o.occurred_at >= %s AND o.occurred_at < %s AND COALESCE(json_extract(i.value, '$.gift_card'), 0) != 1
        GROUP BY 1, 2, 3
    """,
}


@dataclass
class _Tally:
    """What was ordered and returned of one product or category in one currency."""

    name: str = ""
    category: str = ""
    ordered: int = 0
    value: Decimal = Decimal("0")
    returned: int = 0
    refunded: Decimal = Decimal("0")
    reasons: dict[int | None, int] = field(default_factory=dict)

    def row(self, reasons: dict[int | None, str]) -> list[Any]:
        return [
            self.ordered,
            self.returned,
            ratio(self.returned, self.ordered),
            self.value.quantize(CENT),
            self.refunded.quantize(CENT),
            ratio(self.refunded, self.value),
            _main_reason(self.reasons, reasons),
        ]


def _main_reason(counts: dict[int | None, int], labels: dict[int | None, str]) -> str:
    """The reason most of the returned goods gave (ties: the reason first in staff's order)."""
    if not counts:
        return "—"
    order = list(labels)
    best = max(counts, key=lambda reason: (counts[reason], -order.index(reason) if reason in order else -len(order)))
    return labels.get(best, "—")


def _orders(period: Period) -> Any:
    return Order.objects.filter(occurred_at__gte=period.start, occurred_at__lt=period.end)


def _ordered(period: Period) -> list[tuple[str, str, str, str, int, Decimal]]:
    """Per currency, SKU and category: the name, the quantity ordered and its value (quantity x unit price), of the
    period's orders, gift cards left out (money, not goods)."""
    sql = _ORDERED_SQL[connection.vendor].format(table=Order._meta.db_table)
    params = [connection.ops.adapt_datetimefield_value(moment) for moment in (period.start, period.end)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [
            (currency, sku, category, name, int(quantity or 0), Decimal(str(value or 0)).quantize(CENT))
            for currency, sku, category, name, quantity, value in cursor.fetchall()
        ]


def _reason_labels() -> dict[int | None, str]:
    labels: dict[int | None, str] = {reason.pk: str(reason) for reason in ReturnReason.objects.order_by("position")}
    labels[None] = gettext("No reason given")
    return labels


def returns_tables(period: Period) -> dict[str, list[list[Any]]]:
    """The rows of the returns tables: ``summary`` per currency, ``products`` per SKU and currency, ``categories``
    per category and currency, ``reasons`` per reason and currency (six aggregate queries)."""
    labels = _reason_labels()
    no_category = gettext("No category")
    products: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    categories: dict[tuple[str, str], _Tally] = defaultdict(_Tally)
    for currency, sku, category, name, quantity, value in _ordered(period):
        for tally in ([products[(sku, currency)]] if sku else []) + [categories[(category, currency)]]:
            tally.name, tally.category = tally.name or name, tally.category or category
            tally.ordered += quantity
            tally.value += value
    lines = RefundLine.objects.filter(
        refund__order__occurred_at__gte=period.start, refund__order__occurred_at__lt=period.end
    )
    returned = (
        lines.values("sku", "category", "refund__order__currency", "refund__reason")
        .annotate(quantity=Sum("quantity"), amount=Sum("amount"))
        .order_by()
    )
    for row in returned:
        currency, reason = row["refund__order__currency"], row["refund__reason"]
        for tally in (products[(row["sku"], currency)], categories[(row["category"], currency)]):
            tally.category = tally.category or row["category"]
            tally.returned += row["quantity"]
            tally.refunded += row["amount"]
            tally.reasons[reason] = tally.reasons.get(reason, 0) + row["quantity"]

    def by_most_returned(item: tuple[tuple[str, str], _Tally]) -> tuple[Any, ...]:
        (key, currency), tally = item
        return (-tally.returned, -tally.ordered, key, currency)

    product_rows = [
        [sku, tally.name, tally.category or no_category, currency, *tally.row(labels)]
        for (sku, currency), tally in sorted(products.items(), key=by_most_returned)
    ]
    category_rows = [
        [category or no_category, currency, *tally.row(labels)]
        for (category, currency), tally in sorted(categories.items(), key=by_most_returned)
    ]

    refunds = Refund.objects.filter(order__occurred_at__gte=period.start, order__occurred_at__lt=period.end)
    per_reason = {
        (row["reason"], row["order__currency"]): (row["refunds"], row["amount"])
        for row in refunds.values("reason", "order__currency").annotate(refunds=Count("pk"), amount=Sum("amount"))
    }
    items_per_reason = {
        (row["refund__reason"], row["refund__order__currency"]): row["quantity"]
        for row in lines.values("refund__reason", "refund__order__currency").annotate(quantity=Sum("quantity"))
    }
    refunds_per_currency: dict[str, int] = defaultdict(int)
    for (_reason, currency), (count, _amount) in per_reason.items():
        refunds_per_currency[currency] += count
    order_of = list(labels)
    reason_rows = [
        [
            labels.get(reason, "—"),
            currency,
            count,
            ratio(count, refunds_per_currency[currency]),
            items_per_reason.get((reason, currency), 0),
            amount.quantize(CENT),
        ]
        for (reason, currency), (count, amount) in sorted(
            per_reason.items(), key=lambda item: (item[0][1], -item[1][0], order_of.index(item[0][0]))
        )
    ]

    summary = (
        _orders(period)
        .values("currency")
        .annotate(
            orders=Count("pk"),
            refunded_orders=Count("pk", filter=Q(refunded_amount__gt=0)),
            amount=Sum("amount"),
            refunded=Sum("refunded_amount"),
        )
        .order_by("currency")
    )
    summary_rows = [
        [
            row["currency"],
            row["orders"],
            row["refunded_orders"],
            ratio(row["refunded_orders"], row["orders"]),
            row["amount"].quantize(CENT),
            row["refunded"].quantize(CENT),
            ratio(row["refunded"], row["amount"]),
        ]
        for row in summary
    ]
    return {"summary": summary_rows, "products": product_rows, "categories": category_rows, "reasons": reason_rows}
