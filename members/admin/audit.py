"""The audit trail in the admin: the mixin that records staff's saves and deletes, and the trail's own page."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from members.audit import audit_record, audit_snapshot
from members.models import (
    AuditAction,
    AuditEntry,
)


class AuditedAdminMixin:
    """Record every save and delete made in this admin in the audit trail, with the values before and after."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        stored = type(obj)._default_manager.filter(pk=obj.pk).first() if change else None
        before = audit_snapshot(stored) if stored is not None else {}
        super().save_model(request, obj, form, change)  # type: ignore[misc]
        request._audit_pending = (obj, before, change)  # type: ignore[attr-defined]

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)  # type: ignore[misc]
        pending = getattr(request, "_audit_pending", None)
        if pending is not None:
            obj, before, changed = pending
            action = AuditAction.CHANGE if changed else AuditAction.CREATE
            stored = type(obj)._default_manager.get(pk=obj.pk)  # as stored: decimals and times normalised
            audit_record(staff=request.user, action=action, obj=stored, before=before, after=audit_snapshot(stored))
            request._audit_pending = None  # type: ignore[attr-defined]

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        before = audit_snapshot(obj)
        pk = obj.pk
        super().delete_model(request, obj)  # type: ignore[misc]
        obj.pk = pk
        audit_record(staff=request.user, action=AuditAction.DELETE, obj=obj, before=before)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        doomed = [(obj, audit_snapshot(obj)) for obj in queryset]
        super().delete_queryset(request, queryset)  # type: ignore[misc]
        for obj, before in doomed:
            audit_record(staff=request.user, action=AuditAction.DELETE, obj=obj, before=before)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail: read-only for everyone (the model has only a view permission, and refuses changes)."""

    list_display = ("at", "staff", "action", "model", "object_repr", "note")
    list_filter = ("action", "model", "at")
    list_select_related = ("staff",)
    search_fields = ("object_repr", "object_id", "staff__email", "note")
    date_hierarchy = "at"
    fields = ("at", "staff", "action", "model", "object_id", "object_repr", "note", "before", "after")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEntry | None = None) -> bool:
        return False
