"""Replenishment rules (staff write them) and the reminders they scheduled (read-only: orders and the job move
them)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from modeltranslation.admin import TranslationAdmin

from loyalty.models import ReplenishmentReminder, ReplenishmentRule
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from members.admin import AuditedAdminMixin


@admin.register(ReplenishmentRule)
class ReplenishmentRuleAdmin(AuditedAdminMixin, TranslationAdmin):
    list_display = ("name", "sku", "category", "interval_days", "remind_days_before", "is_active")
    list_filter = ("is_active",)
    search_fields = ("name", "sku", "category")
    fields = ("name", "sku", "category", "interval_days", "remind_days_before", "message", "is_active", "created_at")
    readonly_fields = ("created_at",)


@admin.register(ReplenishmentReminder)
class ReplenishmentReminderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("name", "sku", "member", "rule", "status", "due_at", "sent_at", "followed_by")
    list_select_related = ("member__user", "rule", "followed_by")
    list_filter = ("status", "rule")
    search_fields = ("sku", "name", "member__user__email", "order__external_id")
    date_hierarchy = "due_at"
    fields = (
        "member", "rule", "order", "sku", "name", "url", "due_at", "status", "sent_at", "cancelled_by",
        "followed_by", "created_at",
    )  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReplenishmentReminder]:
        return super().get_queryset(request).select_related("member__user", "rule", "order", "followed_by")
