"""Staff admin for the points engine.

The admin stays thin: it lists, searches and shows. Points move only through services
(``points_adjust`` behind the "Adjust points" form); the ledger, balances, orders, refunds and
received webhooks are read-only here, and API keys are created and revoked through
``api_key_create``/``api_key_revoke``.
"""

from __future__ import annotations

import csv
import json
import secrets
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from loyalty import selectors
from loyalty.errors import LoyaltyError
from loyalty.forms import EarningPreviewForm, PointsAdjustForm, SegmentMessageForm
from loyalty.models import (
    ActionAward,
    ApiKey,
    EarningRule,
    EarningRuleUse,
    InboundWebhook,
    LedgerEntry,
    Order,
    OutboxEvent,
    PointsAccount,
    PointsAction,
    Programme,
    Refund,
    Reward,
    Segment,
    SegmentSend,
    Shop,
    ShopCustomer,
    Tier,
    Voucher,
    VoucherStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEventType,
    WebhookSubscription,
    WinbackOffer,
)
from loyalty.selectors import Standing, member_entries, member_standing
from loyalty.services.earning import earning_points, earning_rules_active
from loyalty.services.ledger import points_adjust
from loyalty.services.rewards import voucher_cancel
from loyalty.services.segments import segment_message_send
from loyalty.services.shops import api_key_create, api_key_revoke
from loyalty.services.webhooks import webhooks_redeliver
from members.admin import AuditedAdminMixin, MemberAdmin
from members.admin_site import LargeTableAdminMixin
from members.audit import audit_record, audit_snapshot
from members.models import AuditAction, Member

# Staff who may add ledger entries may adjust points; the entries themselves go through the service.
ADJUST_POINTS_PERMISSION = "loyalty.add_ledgerentry"
RECENT_ENTRIES = 20
NEGATIVE_BALANCE_WARNING = _("Negative because refunded points had already been spent; only a clawback can do this.")


class ReadOnlyAdminMixin:
    """View-only: these rows change only through services (or arrive from shops)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _account(member: Member) -> PointsAccount | None:
    """The member's points account as loaded with ``select_related("points__tier")``, without a query."""
    try:
        return member.points
    except PointsAccount.DoesNotExist:
        return None


def balance_html(balance: int) -> SafeString:
    if balance < 0:
        return format_html(
            '<strong style="color: var(--error-fg, #ba2121)" title="{}">{} ⚠</strong>',
            NEGATIVE_BALANCE_WARNING,
            balance,
        )
    return format_html("{}", balance)


def tier_badge(tier: Tier | None) -> SafeString | str:
    if tier is None:
        return "—"
    return format_html(
        '<span style="display: inline-block; padding: 0 .6em; border-radius: 1em; background: {}; '
        'color: #fff; font-weight: 600; text-shadow: 0 0 2px #000a">{}</span>',
        tier.colour,
        tier.name,
    )


# Members -------------------------------------------------------------------------------------------


class TierListFilter(admin.SimpleListFilter):
    title = _("tier")
    parameter_name = "tier"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(tier.pk), tier.name) for tier in Tier.objects.order_by("threshold")] + [
            ("none", gettext("No tier"))
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Member]) -> QuerySet[Member]:
        value = self.value()
        if value == "none":
            return queryset.filter(Q(points__isnull=True) | Q(points__tier__isnull=True))
        if value and value.isdigit():
            return queryset.filter(points__tier_id=int(value))
        return queryset


class BalanceListFilter(admin.SimpleListFilter):
    title = _("balance")
    parameter_name = "balance"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("positive", gettext("Above zero")),
            ("zero", gettext("Zero")),
            ("negative", gettext("Negative (after a clawback)")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Member]) -> QuerySet[Member]:
        value = self.value()
        if value == "positive":
            return queryset.filter(points__balance__gt=0)
        if value == "zero":
            return queryset.filter(Q(points__isnull=True) | Q(points__balance=0))
        if value == "negative":
            return queryset.filter(points__balance__lt=0)
        return queryset


admin.site.unregister(Member)


@admin.register(Member)
class MemberLoyaltyAdmin(MemberAdmin):
    """The member admin with balance, tier, progress, recent entries and the "Adjust points" form."""

    # Points first after the person: what staff look for; the rest of the membership follows.
    list_display = ("email", "name", "tier", "balance", "language", "enrolled_at")
    list_select_related = ("user", "points__tier")
    list_filter = (*MemberAdmin.list_filter, TierListFilter, BalanceListFilter)
    points_fields = ("balance_detail", "tier_detail", "tier_progress", "recent_entries")
    readonly_fields = (*MemberAdmin.readonly_fields, *points_fields)
    change_form_template = "admin/loyalty/member/change_form.html"
    adjust_points_template = "admin/loyalty/member/adjust_points.html"
    entries_template = "admin/loyalty/member/recent_entries.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Member]:
        return super().get_queryset(request).select_related("user", "points__tier")

    def get_fieldsets(self, request: HttpRequest, obj: Member | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.insert(1, (_("Points"), {"fields": self.points_fields}))
        return fieldsets

    # Changelist columns (no query per row: the account and tier come with the member).

    @admin.display(description=_("balance"), ordering="points__balance")
    def balance(self, obj: Member) -> SafeString:
        account = _account(obj)
        return balance_html(account.balance if account else 0)

    @admin.display(description=_("tier"), ordering="points__tier__threshold")
    def tier(self, obj: Member) -> SafeString | str:
        account = _account(obj)
        return tier_badge(account.tier if account else None)

    # Change page (a fixed number of queries, however long the member's history).

    def _standing(self, obj: Member) -> Standing:
        standing = getattr(obj, "_admin_standing", None)
        if standing is None:
            standing = member_standing(member=obj)
            obj._admin_standing = standing  # type: ignore[attr-defined]
        return standing

    @admin.display(description=_("balance"))
    def balance_detail(self, obj: Member) -> SafeString:
        balance = self._standing(obj).balance
        if balance < 0:
            return format_html(
                '<strong style="color: var(--error-fg, #ba2121)">{}</strong>'
                '<p class="errornote" style="margin-top: .5em">⚠ {}</p>',
                balance,
                NEGATIVE_BALANCE_WARNING,
            )
        return format_html("<strong>{}</strong>", balance)

    @admin.display(description=_("tier"))
    def tier_detail(self, obj: Member) -> SafeString | str:
        return tier_badge(self._standing(obj).tier)

    @admin.display(description=_("progress to next tier"))
    def tier_progress(self, obj: Member) -> SafeString:
        standing = self._standing(obj)
        if standing.window_months:
            window = gettext("%(points)s qualifying points in the last %(months)s months.") % {
                "points": standing.tier_points,
                "months": standing.window_months,
            }
        else:
            window = gettext("%(points)s qualifying points in all.") % {"points": standing.tier_points}
        if standing.next_tier is None:
            return format_html("{} {}", gettext("Highest tier reached."), window)
        to_go = gettext("%(points)s points to %(tier)s.") % {
            "points": standing.points_to_next_tier,
            "tier": standing.next_tier.name,
        }
        return format_html(
            '<div role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}" aria-label="{}" '
            'style="width: 20em; max-width: 100%; height: .8em; background: var(--darkened-bg, #eee); '
            'border-radius: .4em; overflow: hidden; margin-bottom: .3em">'
            '<div style="width: {}%; height: 100%; background: {}"></div></div>{}% · {} {}',
            standing.progress_percent,
            gettext("Progress to %(tier)s") % {"tier": standing.next_tier.name},
            standing.progress_percent,
            standing.next_tier.colour,
            standing.progress_percent,
            to_go,
            window,
        )

    @admin.display(description=_("recent ledger entries"))
    def recent_entries(self, obj: Member) -> SafeString:
        entries = list(member_entries(member=obj)[:RECENT_ENTRIES])
        return render_to_string(self.entries_template, {"member": obj, "entries": entries, "limit": RECENT_ENTRIES})

    # Adjust points.

    def has_adjust_points_permission(self, request: HttpRequest, obj: Member | None = None) -> bool:
        return request.user.has_perm(ADJUST_POINTS_PERMISSION) and self.has_view_or_change_permission(request, obj)

    def _admin_url(self, view: str, object_id: Any) -> str:
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}", args=[object_id])

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "<path:object_id>/adjust-points/",
                self.admin_site.admin_view(self.adjust_points_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_adjust_points",
            ),
        ]
        return own + super().get_urls()  # before the catch-all "<path:object_id>/" redirect

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        if self.has_adjust_points_permission(request):
            extra_context["adjust_points_url"] = self._admin_url("adjust_points", object_id)
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_points_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        member = self.get_object(request, unquote(object_id))
        if member is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_adjust_points_permission(request, member):
            raise PermissionDenied
        form = PointsAdjustForm(request.POST if request.method == "POST" else None, member=member)
        if form.is_bound and form.is_valid():
            try:
                entry = points_adjust(
                    member=member,
                    points=form.cleaned_data["points"],
                    staff=request.user,
                    reason=form.cleaned_data["reason"],
                    corrects=form.cleaned_data["corrects"],
                )
            except LoyaltyError as error:
                form.add_service_error(error)
            else:
                self.log_change(
                    request,
                    member,
                    gettext("Adjusted points by %(points)+d: %(reason)s")
                    % {"points": entry.points, "reason": entry.reason},
                )
                messages.success(
                    request,
                    gettext("Adjusted the points of %(member)s by %(points)+d. The balance is now %(balance)s.")
                    % {"member": member, "points": entry.points, "balance": entry.balance_after},
                )
                return HttpResponseRedirect(self._admin_url("change", member.pk))
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Adjust points for %(member)s") % {"member": member},
            "subtitle": None,
            "opts": self.opts,
            "original": member,
            "member": member,
            "standing": self._standing(member),
            "negative_warning": NEGATIVE_BALANCE_WARNING,
            "adminform": adminform,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
            "has_view_permission": self.has_view_permission(request, member),
        }
        return TemplateResponse(request, self.adjust_points_template, context)


# Programme and tiers -------------------------------------------------------------------------------


@admin.register(Programme)
class ProgrammeAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """The club's settings: one row, never deleted."""

    list_display = ("name", "currency", "points_per_unit", "amount_basis", "tier_window_months", "max_order_amount")

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


# Shops and API keys --------------------------------------------------------------------------------


class ApiKeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "name", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


SHOP_SECRET_FIELDS = ("shopify_webhook_secret", "woocommerce_webhook_secret")


class ShopAdminForm(forms.ModelForm):
    """The webhook secrets can be set or replaced, never read back: the page never renders them."""

    class Meta:
        model = Shop
        fields = ("name", "slug", "currency", "points_per_unit", "is_active", *SHOP_SECRET_FIELDS)
        widgets = {name: forms.PasswordInput(render_value=False) for name in SHOP_SECRET_FIELDS}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in SHOP_SECRET_FIELDS:
            field = self.fields[name]
            field.required = False
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = _("A secret is set. Leave empty to keep it; type a new one to replace it.")

    def _keep_unless_replaced(self, name: str) -> str:
        value = self.cleaned_data.get(name) or ""
        return value or (getattr(self.instance, name) if self.instance.pk else "")

    def clean_shopify_webhook_secret(self) -> str:
        return self._keep_unless_replaced("shopify_webhook_secret")

    def clean_woocommerce_webhook_secret(self) -> str:
        return self._keep_unless_replaced("woocommerce_webhook_secret")


@admin.register(Shop)
class ShopAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ShopAdminForm
    list_display = ("name", "slug", "currency", "points_per_unit", "is_active", "created_at")
    list_filter = ("currency", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("new_api_key",)
    fields = (
        "name",
        "slug",
        "currency",
        "points_per_unit",
        "is_active",
        "shopify_webhook_secret",
        "woocommerce_webhook_secret",
        "new_api_key",
    )
    inlines = (ApiKeyInline,)

    @admin.display(description=_("API keys"))
    def new_api_key(self, obj: Shop) -> SafeString | str:
        if obj.pk is None:
            return gettext("Save the shop first, then create its API keys.")
        return format_html(
            '<a class="addlink" href="{}?shop={}">{}</a>',
            reverse("admin:loyalty_apikey_add"),
            obj.pk,
            gettext("Create an API key"),
        )


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", gettext("Active")), ("revoked", gettext("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by ``api_key_create`` (the key is shown once) and never edited; revoke instead."""

    list_display = ("prefix", "shop", "name", "created_at", "created_by", "last_used_at", "revoked_at", "active")
    list_select_related = ("shop", "created_by")
    list_filter = (ApiKeyStatusFilter, "shop")
    search_fields = ("prefix", "name", "shop__name", "shop__slug")
    actions = ("revoke_selected",)
    shown_fields = ("shop", "name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("shop", "name") if obj is None else self.shown_fields

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return () if obj is None else self.shown_fields

    def has_change_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ApiKey | None = None) -> bool:
        return False

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(f"{self.opts.app_label}.{get_permission_codename('change', self.opts)}")

    @admin.display(description=_("active"), boolean=True)
    def active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        if change:  # pragma: no cover - the change permission is never granted
            raise PermissionDenied
        key, raw_key = api_key_create(shop=obj.shop, name=obj.name, created_by=request.user)
        # The admin goes on with ``obj`` (history, redirect): make it the saved key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(key, field.attname))
        obj._state.adding = False
        obj._state.db = key._state.db
        audit_record(staff=request.user, action=AuditAction.CREATE, obj=key, after=audit_snapshot(key))
        messages.success(
            request,
            format_html(
                "{} <code>{}</code> {}",
                gettext("The new API key is"),
                raw_key,
                gettext("Copy it now: it will not be shown again. Klubb stores only its hash."),
            ),
        )

    @admin.action(description=_("Revoke selected keys"), permissions=["revoke"])
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        keys = list(queryset.filter(revoked_at__isnull=True).select_related("shop"))
        for key in keys:
            before = audit_snapshot(key)
            api_key_revoke(key=key)
            key.refresh_from_db()
            audit_record(
                staff=request.user, action=AuditAction.REVOKE, obj=key, before=before, after=audit_snapshot(key)
            )
            self.log_change(request, key, gettext("Revoked"))
        messages.success(request, gettext("Revoked %(count)d API keys.") % {"count": len(keys)})


@admin.register(ShopCustomer)
class ShopCustomerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "shop", "member")
    list_select_related = ("shop", "member__user")
    list_filter = ("shop",)
    search_fields = ("external_id", "member__user__email", "shop__name")
    autocomplete_fields = ("shop", "member")


# Points, orders and refunds (read-only) ------------------------------------------------------------


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

    list_display = ("created_at", "kind", "points", "balance_after", "member", "order", "staff", "reason")
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


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Refund
    fields = ("external_id", "amount", "points_clawed_back", "source", "created_at")
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
        "amount",
        "currency",
        "points_awarded",
        "refunded_amount",
        "occurred_at",
    )
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

    @admin.display(description=_("ledger entries"))
    def ledger_link(self, obj: Order) -> SafeString:
        return format_html(
            '<a href="{}?order__id__exact={}">{}</a>',
            reverse("admin:loyalty_ledgerentry_changelist"),
            obj.pk,
            gettext("Entries for this order"),
        )


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "shop", "order", "amount", "points_clawed_back", "source", "created_at")
    list_select_related = ("shop", "order__shop")
    list_filter = ("shop", "source")
    search_fields = ("external_id", "order__external_id", "order__member__user__email")
    fields = ("shop", "order", "external_id", "amount", "points_clawed_back", "source", "created_at")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Refund]:
        return super().get_queryset(request).select_related("shop", "order__shop")


@admin.register(InboundWebhook)
class InboundWebhookAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "shop", "platform", "topic", "webhook_id", "status", "detail")
    list_select_related = ("shop",)
    list_filter = ("platform", "status", "topic")
    search_fields = ("webhook_id", "topic", "shop__name")
    date_hierarchy = "received_at"


# --- Rewards and vouchers ---------------------------------------------------------------------------


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


# --- Outbound webhooks ------------------------------------------------------------------------------


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


# --- Earning rules, points for actions, segments ---------------------------------------------------------


@admin.register(EarningRule)
class EarningRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Campaigns on top of the base rate; "Preview points" shows what a sample order gets from each rule."""

    list_display = ("name", "kind", "multiplier", "bonus_points", "starts_at", "ends_at", "priority", "is_active")
    list_filter = ("is_active", "kind", "tiers", "shops")
    search_fields = ("name", "categories", "skus")
    filter_horizontal = ("tiers", "shops")
    change_list_template = "admin/loyalty/earningrule/change_list.html"
    preview_template = "admin/loyalty/earningrule/preview.html"
    fieldsets = (
        (None, {"fields": ("name", "kind", "multiplier", "bonus_points", "priority", "is_active")}),
        (_("When"), {"fields": ("starts_at", "ends_at")}),
        (_("Who and what"), {"fields": ("tiers", "shops", "categories", "skus", "min_order_amount")}),
        (_("Limit"), {"fields": ("cap_per_member",)}),
    )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_preview",
            )
        ]
        return own + super().get_urls()

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = EarningPreviewForm(request.POST or None, initial={"occurred_at": timezone.now(), "tax": 0})
        breakdown = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            breakdown = earning_points(
                programme=Programme.load(),
                shop=data["shop"],
                amount=data["amount"],
                tax=data["tax"],
                tier=data["tier"],
                at=data["occurred_at"],
                items=data["items"],
                rules=earning_rules_active(at=data["occurred_at"]),
            )
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview points for a sample order"),
            "opts": self.opts,
            "adminform": adminform,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
            "breakdown": breakdown,
        }
        return TemplateResponse(request, self.preview_template, context)


@admin.register(PointsAction)
class PointsActionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Points for sign-up, a completed profile and events shops report (the birthday bonus is a programme
    setting)."""

    list_display = ("name", "kind", "event_type", "points", "limit_per_member", "limit_days", "is_active", "awarded")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "event_type")
    fields = ("name", "kind", "event_type", "points", "limit_per_member", "limit_days", "is_active")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PointsAction]:
        return super().get_queryset(request).annotate(awarded_count=Count("awards", filter=Q(awards__points__gt=0)))

    @admin.display(description=_("times given"), ordering="awarded_count")
    def awarded(self, obj: PointsAction) -> int:
        return obj.awarded_count  # type: ignore[attr-defined]


@admin.register(ActionAward)
class ActionAwardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "member", "shop", "key", "points")
    list_select_related = ("action", "member__user", "shop")
    list_filter = ("action", "shop")
    search_fields = ("key", "member__user__email")
    fields = ("action", "member", "shop", "key", "points", "entry", "response", "created_at")


@admin.register(EarningRuleUse)
class EarningRuleUseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("rule", "member", "order", "points", "clawed_back")
    list_select_related = ("rule", "member__user", "order__shop")
    list_filter = ("rule",)
    search_fields = ("order__external_id", "member__user__email")


SEND_SEGMENT_PERMISSION = "loyalty.add_segmentsend"


@admin.register(Segment)
class SegmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Saved filters over members, counted live; export to CSV, or send a (marketing) message to them."""

    list_display = ("name", "live_count", "export_link", "send_link", "created_at")
    search_fields = ("name", "description")
    filter_horizontal = ("tiers", "interests")
    readonly_fields = ("live_count", "export_link", "send_link")
    send_template = "admin/loyalty/segment/send.html"
    fieldsets = (
        (None, {"fields": ("name", "description", "live_count", "export_link", "send_link")}),
        (_("Membership"), {"fields": ("tiers", "interests", "language", "email_consent", "sms_consent")}),
        (_("Orders"), {"fields": ("last_order_after", "last_order_before")}),
        (_("Spend"), {"fields": ("spend_from", "spend_until", "spend_min", "spend_max", "spend_currency")}),
        (_("Points and referrals"), {"fields": ("balance_min", "balance_max", "referrals")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).prefetch_related("tiers", "interests")

    @admin.display(description=_("members now"))
    def live_count(self, obj: Segment) -> int | str:
        return selectors.segment_members(segment=obj).count() if obj.pk else "—"

    @admin.display(description=_("export"))
    def export_link(self, obj: Segment) -> SafeString | str:
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', self._url("export", obj.pk), gettext("CSV"))

    @admin.display(description=_("message"))
    def send_link(self, obj: Segment) -> SafeString | str:
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', self._url("send", obj.pk), gettext("Send a message"))

    def _url(self, view: str, object_id: Any) -> str:
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}", args=[object_id])

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path("<path:object_id>/export/", self.admin_site.admin_view(self.export_view), name=f"{name}_export"),
            path("<path:object_id>/send/", self.admin_site.admin_view(self.send_view), name=f"{name}_send"),
        ]
        return own + super().get_urls()

    def _segment(self, request: HttpRequest, object_id: str) -> Segment:
        segment = self.get_object(request, unquote(object_id))
        if segment is None or not self.has_view_permission(request, segment):
            raise PermissionDenied
        return segment

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        segment = self._segment(request, object_id)
        return csv_response(f"segment-{segment.pk}", selectors.segment_export_rows(segment=segment))

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        segment = self._segment(request, object_id)
        if not request.user.has_perm(SEND_SEGMENT_PERMISSION):
            raise PermissionDenied
        form = SegmentMessageForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            send = segment_message_send(
                segment=segment,
                subject=form.cleaned_data["subject"],
                text=form.cleaned_data["text"],
                staff=request.user,
            )
            messages.success(
                request,
                gettext("Queued %(queued)s message(s) to %(members)s member(s); only consented channels are used.")
                % {"queued": send.queued, "members": send.members},
            )
            return HttpResponseRedirect(self._url("change", segment.pk))
        members = selectors.segment_members(segment=segment)
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Send a message to %(segment)s") % {"segment": segment},
            "opts": self.opts,
            "original": segment,
            "adminform": adminform,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
            "counts": members.aggregate(
                total=Count("pk"),
                email=Count("pk", filter=Q(email_marketing=True)),
                sms=Count("pk", filter=Q(sms_marketing=True) & ~Q(phone="")),
            ),
        }
        return TemplateResponse(request, self.send_template, context)


@admin.register(SegmentSend)
class SegmentSendAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "segment", "subject", "staff", "members", "queued")
    list_select_related = ("segment", "staff")
    search_fields = ("subject", "segment__name")
    fields = ("segment", "subject", "body", "staff", "members", "queued", "created_at")


def csv_response(name: str, rows: Any) -> StreamingHttpResponse:
    """Rows as a downloaded CSV file, written as they are read."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
