"""Shops: the club's shops, their API keys, the members they name, and their inbound webhooks.

- ``keys``: ``shop_create``, ``api_key_create``/``api_key_revoke``/``api_key_authenticate``.
- ``customers``: ``MemberRef`` and ``member_resolve`` (who an order or request is about), ``shop_member_enrol``.
- ``auth``: DRF authentication, permission and throttle by API key (HTTP; imported by settings).
- ``webhooks``: Shopify's and WooCommerce's own webhooks, verified and turned into orders and refunds (HTTP).

This ``__init__`` exports the services only; the HTTP modules sit above the orders they record.
"""

from __future__ import annotations

from loyalty.shops.customers import MemberRef, member_resolve, shop_customer_link, shop_member_enrol
from loyalty.shops.keys import api_key_authenticate, api_key_create, api_key_hash, api_key_revoke, shop_create

__all__ = [
    "MemberRef",
    "api_key_authenticate",
    "api_key_create",
    "api_key_hash",
    "api_key_revoke",
    "member_resolve",
    "shop_create",
    "shop_customer_link",
    "shop_member_enrol",
]
