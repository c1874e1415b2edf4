"""Staff's changes to shops' webhook subscriptions.

Klubb generates every signing secret (32 random bytes from ``secrets``): staff never type one. The caller
shows it once, at creation or rotation; it is stored because signing needs it, and never displayed again (the
admin shows only its first characters). A subscription switched off stops its pending deliveries: they are
``cancelled`` and no longer sent (``loyalty.events.delivery`` also cancels any it meets while sending).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.db import transaction

from loyalty.models import Shop, WebhookDelivery, WebhookDeliveryStatus, WebhookSubscription

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def webhook_secret_new() -> str:
    """A new signing secret: ``whsec_`` and 32 random bytes, URL-safe base64 (43 characters)."""
    return f"{SECRET_PREFIX}{secrets.token_urlsafe(SECRET_BYTES)}"


def webhook_subscription_create(
    *, shop: Shop, url: str, events: Sequence[str], is_active: bool = True, club_wide: bool = False
) -> tuple[WebhookSubscription, str]:
    """Subscribe ``url`` to ``events`` with a new secret; returns the subscription and the secret to show once.
    It hears of the shop's own customers only, or of every member when ``club_wide``.

    Raises ``ValidationError`` for a URL that is not https outside development (``WebhookURLValidator``).
    """
    subscription = WebhookSubscription(
        shop=shop,
        url=url,
        events=list(events),
        is_active=is_active,
        club_wide=club_wide,
        secret=webhook_secret_new(),
    )
    subscription.full_clean()
    subscription.save()
    return subscription, subscription.secret


def webhook_secret_rotate(*, subscription: WebhookSubscription) -> str:
    """Give the subscription a new secret at once (the next attempt is signed with it); returns it, to show once."""
    subscription.secret = webhook_secret_new()
    subscription.save(update_fields=["secret"])
    return subscription.secret


def webhook_deliveries_stop(*, subscription: WebhookSubscription) -> int:
    """Cancel the pending deliveries of a switched-off subscription, so none is sent again; returns how many.

    Nothing happens while the subscription is active. A delivery staff want sent after all can be redelivered
    once the subscription is switched on again.
    """
    with transaction.atomic():
        if not WebhookSubscription.objects.filter(pk=subscription.pk, is_active=False).exists():
            return 0
        return WebhookDelivery.objects.filter(subscription=subscription, status=WebhookDeliveryStatus.PENDING).update(
            status=WebhookDeliveryStatus.CANCELLED
        )
