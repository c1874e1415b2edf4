"""Shops and their API keys, with the scopes each key was given."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from config.snapshots import Snapshot, snapshot_find
from loyalty.models import OPERATIONAL_SCOPES, ApiKey, ApiScope, Shop

KEY_PREFIX = "klb_"
PREFIX_LENGTH = len(KEY_PREFIX) + 8
# Recording every use would turn each API read into a write; once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def api_key_hash(raw_key: str) -> str:
    # Keys are 256-bit random strings, so a fast hash is enough (there is nothing to brute-force).
    return hashlib.sha256(raw_key.encode()).hexdigest()


def shop_create(*, name: str, currency: str, slug: str = "", webhook_secret: str = "") -> Shop:
    base = slugify(slug or name) or "shop"
    candidate, n = base, 1
    while Shop.objects.filter(slug=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return Shop.objects.create(
        name=name,
        slug=candidate,
        currency=currency,
        shopify_webhook_secret=webhook_secret,
        woocommerce_webhook_secret=webhook_secret,
    )


def api_key_create(
    *,
    shop: Shop,
    name: str = "default",
    created_by: Any = None,
    raw_key: str = "",
    scopes: Collection[str] = OPERATIONAL_SCOPES,
) -> tuple[ApiKey, str]:
    """Create a key and return it with its one and only plain-text copy.

    ``scopes`` (``ApiScope`` values) are what it may do, for good: by default every operation, for the shop's own
    customers (``members:all`` is the explicit grant to see every member of the club). ``raw_key`` lets the demo
    data use a documented, fixed key; everything else gets a random one.
    """
    unknown = set(scopes) - set(ApiScope.values)
    if unknown:
        raise ValueError(f"Unknown API key scopes: {', '.join(sorted(unknown))}.")
    if not raw_key:
        raw_key = f"{KEY_PREFIX}{secrets.token_hex(4)}_{secrets.token_urlsafe(32)}"
    elif not (raw_key.startswith(KEY_PREFIX) and len(raw_key) > PREFIX_LENGTH + 16 and raw_key[PREFIX_LENGTH] == "_"):
        raise ValueError("An API key looks like klb_XXXXXXXX_<at least 16 more characters>.")
    key = ApiKey.objects.create(
        shop=shop,
        name=name,
        prefix=raw_key[:PREFIX_LENGTH],
        key_hash=api_key_hash(raw_key),
        created_by=created_by,
        scopes=[scope for scope in ApiScope.values if scope in scopes],
    )
    return key, raw_key


def api_key_scope_withdraw(*, key: ApiKey, scope: str) -> bool:
    """Take ``scope`` away from a key (narrowing only: a key never gains a scope after it is made). Returns
    whether the key had it. Bites at once in this process, within seconds in the others."""
    with transaction.atomic():
        locked = ApiKey.objects.select_for_update().get(pk=key.pk)
        if not locked.has_scope(scope):
            return False
        key.scopes = [kept for kept in locked.scopes if kept != scope]
        key.save(update_fields=["scopes"])  # the signal clears the kept keys
    return True


def api_key_revoke(*, key: ApiKey) -> None:
    if key.revoked_at is None:
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        _active_keys.clear()  # ``update`` sends no signal


def _active_keys_load() -> dict[str, ApiKey]:
    keys = ApiKey.objects.select_related("shop").filter(revoked_at__isnull=True, shop__is_active=True)
    return {key.prefix: key for key in keys}


# Every API request authenticates; the active keys (a few per shop) are kept per process (config/snapshots.py).
# Revoking a key or switching a shop off bites at once in the process that did it, within seconds elsewhere.
_active_keys = Snapshot(_active_keys_load, sources=[ApiKey, Shop])


def api_key_authenticate(*, raw_key: str) -> ApiKey | None:
    """The active key matching ``raw_key``, with its shop; records when it was last used.

    A key this process has not seen yet (made in another process seconds ago) is looked up in the database, one
    query by its unique prefix, so a new key works at once everywhere; the kept keys are read again then.
    """
    if not raw_key.startswith(KEY_PREFIX) or len(raw_key) <= PREFIX_LENGTH:
        return None
    prefix = raw_key[:PREFIX_LENGTH]
    key = snapshot_find(
        _active_keys,
        prefix,
        fetch=lambda: (
            ApiKey.objects.select_related("shop")
            .filter(prefix=prefix, revoked_at__isnull=True, shop__is_active=True)
            .first()
        ),
    )
    if key is None or not secrets.compare_digest(key.key_hash, api_key_hash(raw_key)):
        return None
    now = timezone.now()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
