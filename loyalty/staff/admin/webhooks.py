"""Outbound webhooks: subscriptions (the signing secret shown once), deliveries (staff may redeliver) and the
outbox of events."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.events.delivery import webhooks_redeliver
from loyalty.models import OutboxEvent, WebhookAttempt, WebhookDelivery, WebhookEventType, WebhookSubscription
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from members.admin import AuditedAdminMixin

REDELIVER_WEBHOOK_PERMISSION = "loyalty.change_webhookdelivery"


def _https_url_formfield(db_field: Any, **kwargs: Any) -> Any:
    if db_field.name == "url":
        kwargs["assume_scheme"] = "https"
    return db_field.formfield(**kwargs)


class WebhookSubscriptionForm(forms.ModelForm):
    events = forms.MultipleChoiceField(
        label=_("events"), choices=WebhookEventType.choices, widget=forms.CheckboxSelectMultiple
    )
    secret = forms.CharField(
        label=_("signing secret"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput,
        help_text=_("Leave empty to generate one. It is shown once, after saving."),
    )

    class Meta:
        model = WebhookSubscription
        fields = ("shop", "url", "secret", "events", "is_active")
        formfield_callback = staticmethod(_https_url_formfield)


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The secret is set (or generated and shown once) on creation; afterwards only its first characters show."""

    form = WebhookSubscriptionForm
    list_display = ("shop", "url", "events_list", "is_active", "created_at")
    list_select_related = ("shop",)
    list_filter = ("is_active", "shop")
    search_fields = ("url", "shop__name")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("shop", "url", "secret", "events", "is_active")
        return ("shop", "url", "secret_hint", "events", "is_active", "created_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return () if obj is None else ("secret_hint", "created_at")

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

    def save_model(self, request: HttpRequest, obj: WebhookSubscription, form: ModelForm, change: bool) -> None:
        generated = ""
        if not change and not obj.secret:
            generated = obj.secret = f"whsec_{secrets.token_urlsafe(32)}"
        super().save_model(request, obj, form, change)
        if generated:
            self.message_user(
                request,
                gettext("The signing secret, shown only this once: %(secret)s") % {"secret": generated},
                messages.WARNING,
            )


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
