"""Orders and refunds, read-only: they arrive from shops through the API and webhooks. The return reasons refunds
give are staff's to keep (code, label per language, active, order)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from loyalty.models import Order, Refund, RefundLine, ReturnReason
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from loyalty.templatetags.klubb_format import money
from members.admin import AuditedAdminMixin
from members.admin_site import LargeTableAdminMixin


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("external_id", "amount", "points_clawed_back", "reason", "note", "source", "occurred_at", "created_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Order)
class OrderAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Orders arrive from shops through the API and webhooks; editing one would part it from its ledger entries."""

    list_display = (
        "external_id",
        "shop",
        "member",
        "amount_column",
        "points_awarded",
        "refunded_column",
        "occurred_at",
    )  # amounts with their currency, so the list fits a 1280 px screen
    list_select_related = ("shop", "member__user")
    list_filter = ("shop", "source", "currency", "tier", "occurred_at")
    search_fields = ("external_id", "member__user__email")
    fields = (
        "shop",
        "external_id",
        "member",
        "source",
        "occurred_at",
        "created_at",
        "amount",
        "tax",
        "currency",
        "points_awarded",
        "tier_points_awarded",
        "tier",
        "refunded_amount",
        "points_clawed_back",
        "tier_points_clawed_back",
        "ledger_link",
        "items",
    )
    readonly_fields = ("tier", "ledger_link")
    inlines = (RefundInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("shop", "member__user", "tier")

    @admin.display(description=_("qualifying amount"), ordering="amount")
    def amount_column(self, obj: Order) -> str:
        return money(obj.amount, obj.currency)

    @admin.display(description=_("refunded amount"), ordering="refunded_amount")
    def refunded_column(self, obj: Order) -> str:
        return money(obj.refunded_amount, obj.currency) if obj.refunded_amount else "—"

    @admin.display(description=_("ledger entries"))
    def ledger_link(self, obj: Order) -> SafeString:
        return format_html(
            '<a href="{}?order__id__exact={}">{}</a>',
            reverse("admin:loyalty_ledgerentry_changelist"),
            obj.pk,
            gettext("Entries for this order"),
        )


class RefundLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RefundLine
    fields = ("sku", "name", "category", "quantity", "amount")
    readonly_fields = fields
    extra = 0


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "shop", "order", "amount", "points_clawed_back", "reason", "source", "occurred_at")
    list_select_related = ("shop", "order__shop", "reason")
    list_filter = ("shop", "source", "reason", "occurred_at")
    search_fields = ("external_id", "order__external_id", "order__member__user__email")
    fields = (
        "shop",
        "order",
        "external_id",
        "amount",
        "points_clawed_back",
        "reason",
        "note",
        "source",
        "occurred_at",
        "created_at",
    )
    inlines = (RefundLineInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("shop", "order__shop", "reason")


@admin.register(ReturnReason)
class ReturnReasonAdmin(AuditedAdminMixin, TranslationAdmin):
    """Why goods come back, as shops send it (the code) and staff read it (the label). A reason refunds have given
    cannot be deleted: make it inactive, and shops can no longer send it."""

    list_display = ("code", "label", "is_active", "position")
    list_editable = ("is_active", "position")
    list_filter = ("is_active",)
    search_fields = ("code", "label")
    fields = ("code", "label", "is_active", "position")
