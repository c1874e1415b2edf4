"""Points accounts, the ledger and the tier history, read-only: balances change only in the service that
appends the entry (staff correct them with "Adjust points" on the member page), tiers only by the tier rule."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from loyalty.models import LedgerEntry, PointsAccount, TierChange
from loyalty.staff.admin.common import NEGATIVE_BALANCE_WARNING, ReadOnlyAdminMixin, balance_html, tier_badge
from members.admin_site import LargeTableAdminMixin


@admin.register(PointsAccount)
class PointsAccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Balances change only in the service that appends the ledger entry."""

    list_display = ("member", "balance_column", "tier_column", "tier_since", "updated_at")
    list_select_related = ("member__user", "tier")
    list_filter = ("tier",)
    search_fields = ("member__user__email", "member__user__first_name", "member__user__last_name")
    fields = ("member", "balance_detail", "tier", "tier_since", "updated_at")
    readonly_fields = ("balance_detail",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[PointsAccount]:
        return super().get_queryset(request).select_related("member__user", "tier")

    @admin.display(description=_("balance"), ordering="balance")
    def balance_column(self, obj: PointsAccount) -> SafeString:
        return balance_html(obj.balance)

    @admin.display(description=_("balance"))
    def balance_detail(self, obj: PointsAccount) -> SafeString:
        if obj.balance < 0:
            return format_html("{} ⚠ {}", obj.balance, NEGATIVE_BALANCE_WARNING)
        return format_html("{}", obj.balance)

    @admin.display(description=_("tier"), ordering="tier__threshold")
    def tier_column(self, obj: PointsAccount) -> SafeString | str:
        return tier_badge(obj.tier)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """The ledger is append-only: staff correct it with "Adjust points" on the member page."""

    # What the entry is about in one column (the order, or the staff member and why), so the list fits 1280 px.
    list_display = ("created_at", "kind", "points", "balance_after", "member", "about")
    list_select_related = ("member__user", "order__shop", "staff")
    list_filter = ("kind", "created_at")
    search_fields = ("member__user__email", "order__external_id")
    fields = (
        "member",
        "kind",
        "points",
        "balance_after",
        "tier_points",
        "effective_at",
        "created_at",
        "order",
        "refund",
        "staff",
        "reason",
        "corrects",
        "detail",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return (
            super()
            .get_queryset(request)
            .select_related("member__user", "order__shop", "refund__shop", "staff", "corrects")
        )

    @admin.display(description=_("about"))
    def about(self, obj: LedgerEntry) -> str:
        parts = [str(obj.order) if obj.order_id else "", obj.staff.email if obj.staff_id else "", obj.reason]
        return " · ".join(part for part in parts if part) or "—"


@admin.register(TierChange)
class TierChangeAdmin(LargeTableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every move between tiers, and what moved the member: an order, the nightly review or an import."""

    list_display = ("changed_at", "member", "from_column", "to_column", "up", "reason")
    list_select_related = ("member__user", "from_tier", "to_tier")
    list_filter = ("up", "reason", "to_tier", "changed_at")
    search_fields = ("member__user__email",)
    fields = ("member", "from_tier", "to_tier", "up", "reason", "changed_at")

    @admin.display(description=_("from tier"), ordering="from_tier__threshold")
    def from_column(self, obj: TierChange) -> SafeString | str:
        return tier_badge(obj.from_tier)

    @admin.display(description=_("to tier"), ordering="to_tier__threshold")
    def to_column(self, obj: TierChange) -> SafeString | str:
        return tier_badge(obj.to_tier)
