"""Shops: the club's shops, their API keys, and the members they name.

- ``keys``: ``shop_create``, ``api_key_create``/``api_key_revoke``/``api_key_authenticate``,
  ``api_key_scope_withdraw`` (a key's scopes only ever narrow).
- ``customers``: ``MemberRef``, ``member_find`` and ``member_resolve`` (who an order or request is about),
  ``member_account_lock`` (that member with their points account locked),
  ``shop_member_enrol``, ``shop_customer_link`` and ``shop_customer_is`` (whose data a shop may see).
- ``auth``: DRF authentication, permissions (the key's scopes) and throttle by API key (HTTP; imported by
  settings).

This ``__init__`` exports the services only. Shopify's and WooCommerce's own webhooks, which record orders,
live above ``orders`` in ``loyalty.platforms``.
"""

from __future__ import annotations

from loyalty.shops.customers import (
    FoundAccount,
    MemberRef,
    member_account_find,
    member_account_lock,
    member_find,
    member_resolve,
    shop_customer_is,
    shop_customer_link,
    shop_member_enrol,
)
from loyalty.shops.keys import (
    api_key_authenticate,
    api_key_create,
    api_key_hash,
    api_key_revoke,
    api_key_scope_withdraw,
    shop_create,
)

__all__ = [
    "FoundAccount",
    "MemberRef",
    "api_key_authenticate",
    "api_key_create",
    "api_key_hash",
    "api_key_revoke",
    "api_key_scope_withdraw",
    "member_account_find",
    "member_account_lock",
    "member_find",
    "member_resolve",
    "shop_create",
    "shop_customer_is",
    "shop_customer_link",
    "shop_member_enrol",
]
