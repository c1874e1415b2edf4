"""Outbound webhooks: shops' subscriptions to club events, the outbox, and each delivery and attempt."""

from __future__ import annotations

import uuid
from typing import ClassVar

from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models.shops import Shop

# Shops subscribe to club events; events go to an outbox in the transaction that caused them and are
# delivered by Celery (loyalty.tasks.deliver_webhook), retried with backoff for up to 24 hours.


class WebhookEventType(models.TextChoices):
    MEMBER_ENROLLED = "member.enrolled", _("Member enrolled")
    POINTS_CHANGED = "points.changed", _("Points changed")
    TIER_CHANGED = "tier.changed", _("Tier changed")
    REWARD_REDEEMED = "reward.redeemed", _("Reward redeemed")
    REFERRAL_REWARDED = "referral.rewarded", _("Referral rewarded")


class WebhookSubscription(models.Model):
    """A shop's endpoint for club events. Events are club-wide: every active subscription to a type gets it."""

    shop = models.ForeignKey(
        Shop, on_delete=models.CASCADE, related_name="webhook_subscriptions", verbose_name=_("shop")
    )
    url = models.URLField(_("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    secret = models.CharField(_("signing secret"), max_length=200)
    events = models.JSONField(_("events"), default=list, help_text=_("Event types to send, e.g. points.changed."))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering: ClassVar = ["shop_id", "pk"]

    def __str__(self) -> str:
        return f"{self.shop} → {self.url}"

    @property
    def secret_hint(self) -> str:
        return f"{self.secret[:8]}…" if self.secret else ""


class OutboxEvent(models.Model):
    """One club event, written in the transaction that caused it. ``event_id`` is what receivers dedupe by."""

    event_id = models.UUIDField(_("event id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=40, choices=WebhookEventType.choices)
    payload = models.JSONField(_("payload"), default=dict)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        ordering: ClassVar = ["-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed (gave up)")


class WebhookDelivery(models.Model):
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    status = models.CharField(
        _("status"), max_length=10, choices=WebhookDeliveryStatus.choices, default=WebhookDeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    last_status_code = models.PositiveSmallIntegerField(_("last status code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering: ClassVar = ["-pk"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once_per_subscription"),
        ]
        indexes: ClassVar = [models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.subscription_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log", verbose_name=_("delivery")
    )
    at = models.DateTimeField(_("at"), default=timezone.now)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering: ClassVar = ["pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
