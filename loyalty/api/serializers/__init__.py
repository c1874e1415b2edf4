"""Shapes of the shop API's input and output, one module per resource (``orders``, ``members``, ``rewards``,
``events``) and the fields they share (``fields``). Explicit fields only; points, balances and tiers are never
writable. Exports the serializers code outside ``loyalty.api`` uses (inbound webhooks parse orders and refunds
with the API's own shapes).
"""

from __future__ import annotations

from loyalty.api.serializers.orders import OrderCreateInputSerializer, RefundCreateInputSerializer

__all__ = ["OrderCreateInputSerializer", "RefundCreateInputSerializer"]
