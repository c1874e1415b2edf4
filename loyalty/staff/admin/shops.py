"""Shops, their API keys (created and revoked through ``api_key_create``/``api_key_revoke``, the key shown
once; scopes chosen at creation, and ``members:all`` the only one staff can take away later), the shops' customer
ids, and the webhooks shops sent (read-only)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.models import OPERATIONAL_SCOPES, ApiKey, ApiScope, InboundWebhook, Shop, ShopCustomer
from loyalty.shops import api_key_create, api_key_revoke, api_key_scope_withdraw
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from members.admin import AuditedAdminMixin
from members.audit import audit_record, audit_snapshot
from members.models import AuditAction

CLUB_WIDE_WARNING = _("Sees every member of the club, not only this shop's customers.")


def scopes_html(key: ApiKey) -> SafeString:
    """A key's scopes, ``members:all`` marked as the club-wide grant it is."""
    names = [str(scope) for scope in ApiScope.values if key.has_scope(scope)]
    shown = [
        format_html('<strong style="color: var(--error-fg, #ba2121)" title="{}">{} ⚠</strong>', CLUB_WIDE_WARNING, name)
        if name == ApiScope.MEMBERS_ALL
        else format_html("<code>{}</code>", name)
        for name in names
    ]
    return format_html_join(", ", "{}", ((item,) for item in shown)) if shown else format_html("—")


class ApiKeyInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ApiKey
    fields = ("prefix", "name", "scopes_list", "created_at", "last_used_at", "revoked_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True

    @admin.display(description=_("scopes"))
    def scopes_list(self, obj: ApiKey) -> SafeString:
        return scopes_html(obj)


SHOP_SECRET_FIELDS = ("shopify_webhook_secret", "woocommerce_webhook_secret")


class ShopAdminForm(forms.ModelForm):
    """The webhook secrets can be set or replaced, never read back: the page never renders them."""

    class Meta:
        model = Shop
        fields = (
            "name", "slug", "currency", "country", "points_per_unit", "point_value", "redeem_max_share", "is_active",
            *SHOP_SECRET_FIELDS, "count_test_orders",
        )  # fmt: skip
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
        "country",
        "points_per_unit",
        "point_value",
        "redeem_max_share",
        "is_active",
        "shopify_webhook_secret",
        "woocommerce_webhook_secret",
        "count_test_orders",
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


class ApiKeyClubWideFilter(admin.SimpleListFilter):
    title = _("every member (members:all)")
    parameter_name = "club_wide"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", gettext("Yes")), ("no", gettext("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        # The JSON list's text: no other scope's name contains this one's.
        has_it = {"scopes__icontains": f'"{ApiScope.MEMBERS_ALL}"'}
        if self.value() == "yes":
            return queryset.filter(**has_it)
        if self.value() == "no":
            return queryset.exclude(**has_it)
        return queryset


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"),
        choices=ApiScope.choices,
        initial=list(OPERATIONAL_SCOPES),
        widget=forms.CheckboxSelectMultiple,
        help_text=_(
            "What the key may do, for good: for other scopes, create another key. Leave members:all off unless the "
            "shop must see members who are not its customers."
        ),
    )

    class Meta:
        model = ApiKey
        fields = ("shop", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are created by ``api_key_create`` (the key is shown once, its scopes chosen) and never edited: revoke
    instead, and make a new key for other scopes. The one change is narrowing: staff may take ``members:all`` away,
    which never gives a key more than it had."""

    form = ApiKeyCreateForm
    list_display = (
        "prefix", "shop", "name", "scopes_list", "club_wide", "created_at", "created_by", "last_used_at", "revoked_at",
        "active",
    )  # fmt: skip
    list_select_related = ("shop", "created_by")
    list_filter = (ApiKeyStatusFilter, ApiKeyClubWideFilter, "shop")
    search_fields = ("prefix", "name", "shop__name", "shop__slug")
    actions = ("revoke_selected", "withdraw_members_all")
    shown_fields = (
        "shop", "name", "prefix", "scopes_list", "club_wide", "created_at", "created_by", "last_used_at", "revoked_at",
    )  # fmt: skip

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("shop", "name", "scopes") if obj is None else self.shown_fields

    def get_form(self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:  # ``scopes`` is the form's own field: the model's is not editable
            kwargs["fields"] = ("shop", "name")
        return super().get_form(request, obj, change, **kwargs)

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

    @admin.display(description=_("scopes"))
    def scopes_list(self, obj: ApiKey) -> SafeString:
        return scopes_html(obj)

    @admin.display(description=_("every member (members:all)"), boolean=True)
    def club_wide(self, obj: ApiKey) -> bool:
        return obj.sees_all_members

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        if change:  # pragma: no cover - the change permission is never granted
            raise PermissionDenied
        key, raw_key = api_key_create(
            shop=obj.shop, name=obj.name, created_by=request.user, scopes=form.cleaned_data["scopes"]
        )
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

    @admin.action(description=_("Take away members:all (this shop's customers only)"), permissions=["revoke"])
    def withdraw_members_all(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        narrowed = 0
        for key in queryset.select_related("shop"):
            before = audit_snapshot(key)
            if not api_key_scope_withdraw(key=key, scope=ApiScope.MEMBERS_ALL):
                continue
            narrowed += 1
            audit_record(
                staff=request.user, action=AuditAction.CHANGE, obj=key, before=before, after=audit_snapshot(key)
            )
            self.log_change(request, key, gettext("Took away members:all"))
        messages.success(
            request, gettext("%(count)d API keys now see only their shop's customers.") % {"count": narrowed}
        )


@admin.register(ShopCustomer)
class ShopCustomerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "shop", "member")
    list_select_related = ("shop", "member__user")
    list_filter = ("shop",)
    search_fields = ("external_id", "member__user__email", "shop__name")
    autocomplete_fields = ("shop", "member")


@admin.register(InboundWebhook)
class InboundWebhookAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("received_at", "shop", "platform", "topic", "webhook_id", "status", "detail")
    list_select_related = ("shop",)
    list_filter = ("platform", "status", "topic")
    search_fields = ("webhook_id", "topic", "shop__name")
    date_hierarchy = "received_at"
