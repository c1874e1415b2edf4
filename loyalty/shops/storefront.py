"""The storefront widget's keys and who it shows: a shop's publishable key, its storefront secret, the signed
customer identity its theme renders, and the short-lived member token the widget gets for it.

The shop's server proves who the signed-in customer is, never the browser: the theme renders the customer's
id, email and a Unix timestamp, and ``HMAC-SHA256(secret, "<customer id>:<email>:<timestamp>")`` in hex
(Shopify's ``hmac_sha256`` Liquid filter, PHP's ``hash_hmac('sha256', …)``). Klubb checks it, at most
``IDENTITY_MAX_AGE`` old, and answers a token for that member alone, good for ``TOKEN_MAX_AGE``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone

from config.snapshots import Snapshot, snapshot_find
from loyalty.errors import IdentityExpired, IdentityInvalid
from loyalty.models import PUBLISHABLE_KEY_PREFIX, STOREFRONT_SECRET_PREFIX, Shop, Storefront
from loyalty.shops.customers import MemberRef, member_find, shop_customer_link
from members.models import Member

IDENTITY_MAX_AGE = 24 * 3600  # seconds: a theme renders a fresh timestamp on every page
IDENTITY_FUTURE_SKEW = 300  # seconds a shop server's clock may run ahead of ours
TOKEN_MAX_AGE = 30 * 60  # seconds: the widget asks again with the page's identity when it runs out
_TOKEN_SALT = "loyalty.storefront.member-token"


@dataclass(frozen=True)
class StorefrontKeys:
    storefront: Storefront
    secret: str  # shown to staff once


def _publishable_key() -> str:
    return PUBLISHABLE_KEY_PREFIX + secrets.token_urlsafe(18)


def _secret() -> str:
    return STOREFRONT_SECRET_PREFIX + secrets.token_urlsafe(32)  # 256 bits


def storefront_create(*, shop: Shop, allowed_origins: str = "") -> StorefrontKeys:
    """Give ``shop`` a storefront widget, with a new publishable key and secret."""
    storefront = Storefront.objects.create(
        shop=shop, publishable_key=_publishable_key(), secret=_secret(), allowed_origins=allowed_origins
    )
    return StorefrontKeys(storefront=storefront, secret=storefront.secret)


def storefront_secret_rotate(*, storefront: Storefront) -> StorefrontKeys:
    """A new storefront secret: identities signed with the old one stop working (at once in this process, within
    ``SNAPSHOT_SECONDS`` in the others, which keep the active storefronts)."""
    storefront.secret, storefront.secret_rotated_at = _secret(), timezone.now()
    storefront.save(update_fields=["secret", "secret_rotated_at"])
    return StorefrontKeys(storefront=storefront, secret=storefront.secret)


def storefront_key_rotate(*, storefront: Storefront) -> Storefront:
    """A new publishable key: the old one, and every token given under it, stop working (at once in this process,
    within ``SNAPSHOT_SECONDS`` in the others, which keep the active storefronts)."""
    storefront.publishable_key = _publishable_key()
    storefront.save(update_fields=["publishable_key"])
    return storefront


def _active_storefronts_load() -> dict[str, Storefront]:
    storefronts = Storefront.objects.select_related("shop").filter(is_active=True, shop__is_active=True)
    return {storefront.publishable_key: storefront for storefront in storefronts}


# Every widget request names its storefront (a shop or two have one); the active ones are kept per process, as the
# API keys are (config/snapshots.py). A new storefront works at once everywhere; a rotated key or secret, and a
# storefront or shop switched off, bite at once in the process that did it and within seconds in the others.
_active_storefronts = Snapshot(_active_storefronts_load, sources=[Storefront, Shop])


def storefront_by_key(*, publishable_key: str) -> Storefront | None:
    """The active storefront of an active shop that ``publishable_key`` names, or ``None``.

    One this process does not keep yet (made in another process seconds ago) is looked up in the database, one
    query by its unique key, so a new storefront works at once everywhere; the kept ones are read again then.
    """
    if not publishable_key.startswith(PUBLISHABLE_KEY_PREFIX):
        return None
    return snapshot_find(
        _active_storefronts,
        publishable_key,
        fetch=lambda: (
            Storefront.objects.select_related("shop")
            .filter(publishable_key=publishable_key, is_active=True, shop__is_active=True)
            .first()
        ),
    )


def identity_signature(*, secret: str, customer_id: str, email: str, timestamp: int) -> str:
    """What the shop's server signs: ``HMAC-SHA256(secret, "<customer id>:<email>:<timestamp>")``, in hex."""
    message = f"{customer_id}:{email}:{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def storefront_identity_verify(
    *, storefront: Storefront, customer_id: str, email: str, timestamp: int, signature: str
) -> Member | None:
    """The member a page's signed identity names, or ``None`` when the customer is not a member (yet).

    Raises ``IdentityInvalid`` or ``IdentityExpired`` when the signature does not hold
    or is too old; nothing is read about anyone then. A member found by email is remembered as this shop's
    customer under ``customer_id``.
    """
    expected = identity_signature(secret=storefront.secret, customer_id=customer_id, email=email, timestamp=timestamp)
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise IdentityInvalid()
    age = timezone.now().timestamp() - timestamp
    if age > IDENTITY_MAX_AGE or age < -IDENTITY_FUTURE_SKEW:
        raise IdentityExpired()
    member = member_find(shop=storefront.shop, ref=MemberRef(external_id=customer_id, email=email))
    if member is None or member.erased_at is not None or not member.user.is_active:
        return None
    if customer_id:
        with transaction.atomic():
            shop_customer_link(shop=storefront.shop, member=member, external_id=customer_id)
    return member


def storefront_token_issue(*, storefront: Storefront, member: Member) -> str:
    """A token for ``member`` on this storefront alone, good for ``TOKEN_MAX_AGE`` seconds."""
    return signing.dumps({"k": storefront.publishable_key, "m": str(member.public_id)}, salt=_TOKEN_SALT)


def storefront_token_public_id(*, storefront: Storefront, token: str) -> str | None:
    """The member's public id a token from ``storefront_token_issue`` names, if it is this storefront's (under its
    current publishable key) and not expired; else ``None``. Reads nothing: whether they are still an active
    member is the caller's query (``storefront_token_member``, or the widget's summary with its own)."""
    try:
        data = signing.loads(token, salt=_TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:  # tampered or expired (SignatureExpired is a BadSignature)
        return None
    if not isinstance(data, dict) or data.get("k") != storefront.publishable_key or not isinstance(data.get("m"), str):
        return None
    return data["m"]


def storefront_token_member(*, storefront: Storefront, token: str) -> Member | None:
    """The member a token from ``storefront_token_issue`` names, if it is this storefront's (under its current
    publishable key), not expired, and the member is still an active member; else ``None``."""
    public_id = storefront_token_public_id(storefront=storefront, token=token)
    if public_id is None:
        return None
    return (
        Member.objects.select_related("user")
        .filter(public_id=public_id, erased_at__isnull=True, user__is_active=True)
        .first()
    )
