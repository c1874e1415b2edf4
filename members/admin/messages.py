"""The message templates staff edit, and the log of every message sent or waiting."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template import TemplateSyntaxError
from django.template.defaultfilters import linebreaksbr
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from members.admin_site import LargeTableAdminMixin
from members.messaging import (
    MessageText,
    message_preview,
    message_text,
    messages_retry,
    template_check,
    template_variables,
)
from members.models import (
    Message,
    MessageStatus,
    MessageTemplate,
)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ("kind", "channel", "language", "subject", "body", "is_active")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in ("subject", "body"):
            try:
                template_check(cleaned.get(name) or "")
            except TemplateSyntaxError as exc:
                self.add_error(name, _("This is not a valid template: %(error)s") % {"error": exc})
        return cleaned


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """The texts of the club's messages, per kind, channel and language, with a preview on sample values."""

    form = MessageTemplateForm
    list_display = ("kind", "channel", "language", "subject", "is_active", "updated_at")
    list_filter = ("kind", "channel", "language", "is_active")
    search_fields = ("subject", "body")
    readonly_fields = ("variables", "preview")
    fieldsets = (
        (None, {"fields": ("kind", "channel", "language", "is_active")}),
        (_("Text"), {"fields": ("subject", "body", "variables")}),
        (_("Preview (saved text, sample values)"), {"fields": ("preview",)}),
    )

    @admin.display(description=_("variables"))
    def variables(self, obj: MessageTemplate) -> str:
        names = template_variables(obj.kind) if obj.kind else []
        return ", ".join(f"{{{{ {name} }}}}" for name in names) or "-"

    @admin.display(description=_("preview"))
    def preview(self, obj: MessageTemplate) -> str:
        if not obj.pk:
            return _("Save to see a preview.")
        subject, body = message_preview(template=obj)
        return format_html('<div class="message-preview"><strong>{}</strong><pre>{}</pre></div>', subject, body)


@admin.register(Message)
class MessageAdmin(LargeTableAdminMixin, admin.ModelAdmin):
    """The message log: what was sent to whom, when, through which channel, and how it went. Read-only."""

    list_display = ("created_at", "kind", "channel", "to", "status", "attempts", "sent_at")
    list_filter = ("status", "kind", "channel", "language", "created_at")
    search_fields = ("to", "member__user__email", "member__public_id", "key")
    list_select_related = ("member__user",)
    fields = (
        "member", "kind", "channel", "to", "language", "status", "attempts", "created_at", "send_after", "sent_at",
        "provider_id", "error", "key", "text_subject", "text_body", "context",
    )  # fmt: skip
    readonly_fields = fields
    actions = ("send_again",)

    def _text(self, obj: Message) -> MessageText:
        # The text as sent, or for a message not sent yet, rendered now (once per page, for both fields).
        if getattr(obj, "_text", None) is None:
            obj._text = message_text(message=obj)  # type: ignore[attr-defined]
        return obj._text  # type: ignore[attr-defined]

    @admin.display(description=_("subject"))
    def text_subject(self, obj: Message) -> str:
        return self._text(obj).subject

    @admin.display(description=_("text"))
    def text_body(self, obj: Message) -> str:
        text = self._text(obj)
        if text.sent_text:
            return text.body
        note = _("Not sent yet. This is what it would say if it went now; it is written when it is sent, with the "
                 "template active then.")  # fmt: skip
        return format_html('<p class="help">{}</p>{}', note, linebreaksbr(text.body))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Message | None = None) -> bool:
        return False

    @admin.action(description=_("Send again (failed or not sent)"), permissions=["change"])
    def send_again(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        count = messages_retry(
            message_ids=list(
                queryset.filter(status__in=[MessageStatus.FAILED, MessageStatus.CANCELLED]).values_list("pk", flat=True)
            )
        )
        self.message_user(request, _("%(count)d message(s) queued again.") % {"count": count})


# --- Audit trail ------------------------------------------------------------------------------------------
