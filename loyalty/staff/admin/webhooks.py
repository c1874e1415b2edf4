"""Outbound webhooks: subscriptions (Klubb generates the signing secret and shows it once, at creation or rotation;
switching one off stops its pending deliveries), deliveries (staff may redeliver) and the outbox of events."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.events.delivery import webhooks_redeliver
from loyalty.events.subscriptions import webhook_deliveries_stop, webhook_secret_rotate, webhook_subscription_create
from loyalty.models import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEventType,
    WebhookSubscription,
)
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from members.admin import AuditedAdminMixin
from members.audit import audit_record, audit_snapshot
from members.models import AuditAction

REDELIVER_WEBHOOK_PERMISSION = "loyalty.change_webhookdelivery"


def _https_url_formfield(db_field: Any, **kwargs: Any) -> Any:
    if db_field.name == "url":
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookSubscription
        fields = ("shop", "url", "events", "club_wide", "is_active")
        formfield_callback = staticmethod(_https_url_formfield)


def _show_secret_once(request: HttpRequest, subscription: WebhookSubscription, secret: str) -> None:
    """The one time the secret is displayed: in a message kept on the server (``MESSAGE_STORAGE``)."""
    text = gettext("The signing secret of %(subscription)s is %(secret)s. Copy it now: it will not be shown again.")
    shown = conditional_escape(text) % {
        "subscription": conditional_escape(str(subscription)),
        "secret": format_html("<code>{}</code>", secret),
    }
    messages.warning(request, mark_safe(shown))  # every part escaped above


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Klubb generates the secret and shows it once, on creation or rotation; afterwards only its first characters
    show. Switching a subscription off stops its pending deliveries."""

    form = WebhookSubscriptionForm
    list_display = ("shop", "url", "events_list", "club_wide", "is_active", "held_until", "created_at")
    list_select_related = ("shop",)
    list_filter = ("is_active", "club_wide", "shop")
    search_fields = ("url", "shop__name")
    actions = ("rotate_secret",)
    shown_fields = ("secret_hint", "created_at", "delivery_counts", "slow_streak", "held_until")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("shop", "url", "events", "club_wide", "is_active")
        return ("shop", "url", "events", "club_wide", "is_active", *self.shown_fields)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else self.shown_fields

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    @admin.display(description=_("events"))
    def events_list(self, obj: WebhookSubscription) -> str:
        return ", ".join(obj.events or [])

    @admin.display(description=_("signing secret"))
    def secret_hint(self, obj: WebhookSubscription) -> str:
        return obj.secret_hint

    @admin.display(description=_("deliveries"))
    def delivery_counts(self, obj: WebhookSubscription) -> SafeString:
        counts = dict(obj.deliveries.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
        link = reverse("admin:loyalty_webhookdelivery_changelist") + f"?subscription__id__exact={obj.pk}"
        return format_html(
            '{} <a href="{}">{}</a>',
            format_html_join(
                ", ", "{}: {}", ((label, counts.get(value, 0)) for value, label in WebhookDeliveryStatus.choices)
            ),
            link,
            gettext("See the deliveries"),
        )

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            if "is_active" in form.changed_data and not obj.is_active:
                stopped = webhook_deliveries_stop(subscription=obj)
                messages.info(request, gettext("Pending deliveries stopped: %(count)d.") % {"count": stopped})
            return
        subscription, secret = webhook_subscription_create(
            shop=obj.shop, url=obj.url, events=obj.events, is_active=obj.is_active, club_wide=obj.club_wide
        )
        # The admin goes on with ``obj`` (history, redirect): make it the saved subscription.
        for field in WebhookSubscription._meta.concrete_fields:
            setattr(obj, field.attname, getattr(subscription, field.attname))
        obj._state.adding = False
        obj._state.db = subscription._state.db
        audit_record(
            staff=request.user, action=AuditAction.CREATE, obj=subscription, after=audit_snapshot(subscription)
        )
        _show_secret_once(request, subscription, secret)

    @admin.action(description=_("Rotate the signing secret (the new one is shown once)"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[WebhookSubscription]) -> None:
        for subscription in queryset.select_related("shop"):
            secret = webhook_secret_rotate(subscription=subscription)
            audit_record(staff=request.user, action=AuditAction.CHANGE, obj=subscription, note="Signing secret rotated")
            self.log_change(request, subscription, gettext("Signing secret rotated"))
            _show_secret_once(request, subscription, secret)


class WebhookAttemptInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "error", "duration_ms")
    extra = 0


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Deliveries are written by services; staff may only send selected ones again."""

    list_display = (
        "event_type",
        "event_id",
        "subscription",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_select_related = ("event", "subscription__shop")
    list_filter = ("status", "event__type", "subscription__shop")
    search_fields = ("event__event_id", "subscription__url")
    fields = (
        "event",
        "event_payload",
        "subscription",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
    )
    readonly_fields = ("event_payload",)
    inlines = (WebhookAttemptInline,)
    actions = ("redeliver",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        return super().get_queryset(request).select_related("event", "subscription__shop")

    @admin.display(description=_("type"), ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description=_("event id"))
    def event_id(self, obj: WebhookDelivery) -> str:
        return str(obj.event.event_id)

    @admin.display(description=_("payload"))
    def event_payload(self, obj: WebhookDelivery) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.event.payload, indent=2, sort_keys=True))

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(REDELIVER_WEBHOOK_PERMISSION)

    @admin.action(description=_("Redeliver selected webhooks now"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        ids = webhooks_redeliver(deliveries=queryset)
        self.message_user(request, gettext("Queued %(count)d delivery(ies) again.") % {"count": len(ids)})


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("type", "event_id", "created_at")
    list_filter = ("type",)
    search_fields = ("event_id",)
    fields = ("event_id", "type", "payload", "created_at")
