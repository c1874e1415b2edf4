"""Orders and refunds as shops report them: recording, clawing back, importing history.

- ``types``: ``OrderInput``/``OrderItem`` (an order as reported), ``RefundDetails``/``ReturnedItem`` (a refund's
  date, reason, note and returned goods), the outcomes and results of recording.
- ``record``: ``order_record``, the one way purchases earn points; ``order_validate``, what any order must be.
- ``refunds``: ``refund_record``, the clawback rule (``clawback_target``) and ``platform_refund_record`` (a
  platform's refund clamped, under the order's lock, to what is left of its order).
- ``returns``: a refund's return reason (``return_reason_find``; ``platform_return_reason`` files a platform's
  free text) and its returned lines (``refund_lines``), checked against the order and its earlier refunds.
- ``preview``: ``earning_preview``, what an order would earn now, line by line, and ``earning_badges`` (with
  ``BadgeItem``), what each product on a page would earn alone; both write nothing.
- ``imports``: an order history in bulk, through the same validation, earning, ledger (batch) and tier rule;
  ``import_files``: ``orders_import_file``, a history file, whose second run finds its replays on both cores.

Each is idempotent by the shop's own id (``loyalty.idempotency``). Services return results; what a replay
returns is stored as data on the row (``Order.response``, ``Refund.response``) and rendered by the API.
"""

from __future__ import annotations

from loyalty.orders.import_files import orders_import_file
from loyalty.orders.imports import ImportReport, RowError, order_rows_read, orders_import
from loyalty.orders.preview import BadgeItem, EarningPreview, PreviewLine, earning_badges, earning_preview
from loyalty.orders.record import address_fingerprint, order_programme, order_record, order_validate
from loyalty.orders.refunds import clawback_target, platform_refund_record, refund_record
from loyalty.orders.returns import platform_return_reason, return_reason_find
from loyalty.orders.types import (
    OrderInput,
    OrderItem,
    OrderOutcome,
    OrderResult,
    RefundDetails,
    RefundOutcome,
    RefundResult,
    ReturnedItem,
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
    "RefundDetails",
    "RefundOutcome",
    "RefundResult",
    "ReturnedItem",
    "RowError",
    "address_fingerprint",
    "clawback_target",
    "earning_badges",
    "earning_preview",
    "order_programme",
    "order_record",
    "order_rows_read",
    "order_validate",
    "orders_import",
    "orders_import_file",
    "platform_refund_record",
    "platform_return_reason",
    "refund_fingerprint",
    "refund_record",
    "return_reason_find",
]
