"""Rewards, win-back offers and their results, and vouchers (staff may only cancel unused ones)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from loyalty import selectors
from loyalty.errors import LoyaltyError
from loyalty.models import Redemption, Reward, Voucher, VoucherStatus, WinbackOffer
from loyalty.rewards.catalogue import voucher_cancel
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from members.admin import AuditedAdminMixin

CANCEL_VOUCHER_PERMISSION = "loyalty.change_voucher"


@admin.register(Reward)
class RewardAdmin(AuditedAdminMixin, TranslationAdmin):
    list_display = ("name", "points_cost", "stock", "limit_per_member", "active_from", "active_until", "is_active")
    list_filter = ("is_active", "allowed_tiers", "active_from", "active_until")
    search_fields = ("name", "description")
    filter_horizontal = ("allowed_tiers",)
    fields = (
        "name",
        "description",
        "image_url",
        "points_cost",
        "stock",
        "limit_per_member",
        "allowed_tiers",
        "active_from",
        "active_until",
        "how_to_use",
        "is_active",
        "created_at",
    )
    readonly_fields = ("created_at",)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "image_url":
            kwargs["assume_scheme"] = "https"
        return super().formfield_for_dbfield(db_field, request, **kwargs)


@admin.register(WinbackOffer)
class WinbackOfferAdmin(AuditedAdminMixin, TranslationAdmin):
    """The win-back offer and how it worked: codes issued and used, and members who ordered again after it."""

    list_display = ("name", "offer", "inactive_days", "valid_days", "is_active", "issued", "used", "came_back")
    list_filter = ("is_active",)
    search_fields = ("name", "offer")
    fields = (
        "name", "offer", "how_to_use", "inactive_days", "repeat_days", "valid_days", "is_active", "created_at",
        "issued", "used", "came_back",
    )  # fmt: skip
    readonly_fields = ("created_at", "issued", "used", "came_back")

    def get_queryset(self, request: HttpRequest) -> QuerySet[WinbackOffer]:
        return selectors.winback_offers_with_results(super().get_queryset(request))

    @admin.display(description=_("codes issued"), ordering="issued")
    def issued(self, obj: WinbackOffer) -> int:
        return obj.issued

    @admin.display(description=_("codes used"), ordering="used")
    def used(self, obj: WinbackOffer) -> int:
        return obj.used

    @admin.display(description=_("came back (ordered after the code)"), ordering="came_back")
    def came_back(self, obj: WinbackOffer) -> int:
        return obj.came_back


@admin.register(Voucher)
class VoucherAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Vouchers come from redemptions; staff may only cancel unused ones, which returns the points."""

    list_display = ("code", "title", "member", "points", "status", "created_at", "used_at", "used_by_shop")
    list_select_related = ("reward", "winback_offer", "member__user", "used_by_shop")
    list_filter = ("status", "reward", "winback_offer", "used_by_shop")
    search_fields = ("code", "member__user__email", "used_order_id")
    date_hierarchy = "created_at"
    actions = ("cancel_vouchers",)
    fields = (
        "code",
        "reward",
        "winback_offer",
        "member",
        "points",
        "status",
        "created_at",
        "expires_at",
        "redeem_entry",
        "used_at",
        "used_by_shop",
        "used_order_id",
        "cancelled_at",
        "cancelled_by",
        "cancel_entry",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Voucher]:
        return super().get_queryset(request).select_related("reward", "winback_offer", "member__user", "used_by_shop")

    @admin.display(description=_("gives"))
    def title(self, obj: Voucher) -> str:
        return obj.title

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CANCEL_VOUCHER_PERMISSION)

    @admin.action(description=_("Cancel selected unused vouchers (returns points)"), permissions=["cancel"])
    def cancel_vouchers(self, request: HttpRequest, queryset: QuerySet[Voucher]) -> None:
        cancelled = skipped = 0
        for voucher in queryset.order_by("pk"):
            if voucher.status != VoucherStatus.ISSUED:
                skipped += 1
                continue
            try:
                _voucher, done = voucher_cancel(voucher=voucher, staff=request.user)
            except LoyaltyError:
                done = False
            if done:
                cancelled += 1
            else:
                skipped += 1
        if cancelled:
            self.message_user(
                request, gettext("Cancelled %(count)d voucher(s); their points were returned.") % {"count": cancelled}
            )
        if skipped:
            self.message_user(
                request,
                gettext("Skipped %(count)d voucher(s) already used or cancelled.") % {"count": skipped},
                messages.WARNING,
            )


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Points members spent at shops' checkouts. They change only through the shop API, orders and the expiry job."""

    list_display = ("code", "member", "shop", "points", "amount", "currency", "status", "order_id", "created_at")
    list_select_related = ("member__user", "shop")
    list_filter = ("status", "shop")
    search_fields = ("code", "external_id", "order_id", "member__user__email")
    date_hierarchy = "created_at"
    fields = (
        "code", "external_id", "shop", "member", "points", "amount", "currency", "status", "created_at",
        "expires_at", "captured_at", "order_id", "released_at", "points_returned", "hold_entry",
    )  # fmt: skip
