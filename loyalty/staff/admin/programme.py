"""The club's settings (one row, never deleted) and its tiers."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from loyalty.models import Programme, Tier
from members.admin import AuditedAdminMixin


@admin.register(Programme)
class ProgrammeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The club's settings: one row, never deleted."""

    list_display = ("name", "currency", "points_per_unit", "amount_basis", "tier_window_months", "max_order_amount")
    fieldsets = (
        (None, {"fields": ("name", "currency")}),
        (
            _("Earning"),
            {
                "fields": (
                    "points_per_unit",
                    "amount_basis",
                    "min_earning_amount",
                    "never_earning_categories",
                    "never_earning_skus",
                    "never_earning_customer_tags",
                    "pending_days",
                    "pending_tier_points_wait",
                    "max_order_amount",
                    "birthday_bonus",
                ),
            },
        ),
        (_("Tiers"), {"fields": ("tier_window_months", "tier_grace_days")}),
        (
            _("Spending at checkout"),
            {
                "fields": (
                    "point_value",
                    "redeem_min_points",
                    "redeem_step_points",
                    "redeem_max_share",
                    "reservation_minutes",
                    "refund_returns_points",
                ),
            },
        ),
        (_("Expiry"), {"fields": ("points_expire_months", "expiry_warning_days")}),
        (_("Support"), {"fields": ("support_adjust_limit",)}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not Programme.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Programme | None = None) -> bool:
        return False


@admin.register(Tier)
class TierAdmin(AuditedAdminMixin, TranslationAdmin):
    list_display = ("name", "threshold", "multiplier", "swatch")
    search_fields = ("name",)
    ordering = ("threshold",)

    @admin.display(description=_("colour"), ordering="colour")
    def swatch(self, obj: Tier) -> SafeString:
        return format_html(
            '<span style="display: inline-block; width: 1em; height: 1em; vertical-align: middle; '
            'border: 1px solid #0004; background: {}"></span> <code>{}</code>',
            obj.colour,
            obj.colour,
        )
