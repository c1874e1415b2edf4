"""Native Shopify and WooCommerce webhooks, mapped onto the same services as the REST API.

An entry point like ``api``: it records orders and validates with the API's serializers, so it sits above
``orders``, apart from ``shops`` (the shops, their keys and the members they name), which orders build on.

- ``receive``: the flow every platform shares (verify, deduplicate, record, answer) and the helpers that
  read a platform's payload into the shop API's order and refund shape.
- ``shopify``, ``woocommerce``: one module per platform, its topics, its payload mapping and its view.

A delivery is verified (HMAC-SHA256 over the raw body with the shop's secret), deduplicated by the
platform's delivery id, translated into the shop API's order/refund shape, validated by the same
serializers, and recorded. Answers:

* 404 for a shop address that does not exist (so a merchant who mistypes it sees the error when
  the platform tests the address), 401 for a missing or bad signature, 400 for a body that is not
  a JSON object, 413 for one too large: nothing is written.
* 200 for everything else, so the platform does not retry what a retry cannot fix: unknown topics
  are ignored without a trace, statuses that earn nothing are logged as ignored, redeliveries are
  reported as duplicates, and orders our rules refuse are recorded as rejected (visible to staff
  under "Received webhooks").

Orders and refunds are idempotent by their own ids as well (``order_record``/``refund_record``), so
the same order under a new delivery id never earns twice.

A refund carries what the platform says of the return: its date (Shopify's ``processed_at``, a cancellation's
``cancelled_at``, WooCommerce's ``date_created``, else now), its free text (Shopify's ``note``, WooCommerce's
``reason``: a return reason when it names one, else the note under ``other``) and Shopify's refund lines (SKU,
quantity, subtotal). Lines the order does not have are left out: a platform's refund is never refused for them.
"""

from __future__ import annotations

from loyalty.platforms.shopify import shopify_webhook
from loyalty.platforms.woocommerce import woocommerce_webhook

__all__ = ["shopify_webhook", "woocommerce_webhook"]
