"""Orders and refunds as shops report them: recording, clawing back, importing history.

- ``types``: ``OrderInput``/``OrderItem`` (an order as reported), the outcomes and results of recording.
- ``record``: ``order_record``, the one way purchases earn points; ``order_validate``, what any order must be.
- ``refunds``: ``refund_record``, the clawback rule (``clawback_target``) and ``platform_refund_record`` (a
  platform's refund clamped, under the order's lock, to what is left of its order).
- ``preview``: ``earning_preview``, what an order would earn now, line by line, and ``earning_badges`` (with
  ``BadgeItem``), what each product on a page would earn alone; both write nothing.
- ``imports``: an order history in bulk, through the same validation, earning, ledger (batch) and tier rule.

Each is idempotent by the shop's own id (``loyalty.idempotency``). Services return results; what a replay
returns is stored as data on the row (``Order.response``, ``Refund.response``) and rendered by the API.
"""

from __future__ import annotations

from loyalty.orders.imports import ImportReport, RowError, order_rows_read, orders_import
from loyalty.orders.preview import BadgeItem, EarningPreview, PreviewLine, earning_badges, earning_preview
from loyalty.orders.record import address_fingerprint, order_record, order_validate
from loyalty.orders.refunds import clawback_target, platform_refund_record, refund_record
from loyalty.orders.types import (
    OrderInput,
    OrderItem,
    OrderOutcome,
    OrderResult,
    RefundOutcome,
    RefundResult,
    refund_fingerprint,
)

__all__ = [
    "BadgeItem",
    "EarningPreview",
    "ImportReport",
    "OrderInput",
    "OrderItem",
    "OrderOutcome",
    "OrderResult",
    "PreviewLine",
    "RefundOutcome",
    "RefundResult",
    "RowError",
    "address_fingerprint",
    "clawback_target",
    "earning_badges",
    "earning_preview",
    "order_record",
    "order_rows_read",
    "order_validate",
    "orders_import",
    "platform_refund_record",
    "refund_fingerprint",
    "refund_record",
]
