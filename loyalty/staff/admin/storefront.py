"""The storefront widget of each shop: origins, looks and links are edited here; the publishable key and the
storefront secret are made by ``loyalty.shops.storefront`` (the secret shown once) and only ever rotated."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Field, QuerySet, URLField
from django.forms import ModelForm
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.models import Storefront
from loyalty.shops.storefront import storefront_create, storefront_key_rotate, storefront_secret_rotate
from members.admin import AuditedAdminMixin
from members.audit import audit_record, audit_snapshot
from members.models import AuditAction

EDITABLE = ("allowed_origins", "accent_colour", "position", "join_url", "login_url", "is_active")


@admin.register(Storefront)
class StorefrontAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("shop", "publishable_key", "origins_count", "is_active", "secret_rotated_at")
    list_select_related = ("shop",)
    list_filter = ("is_active",)
    search_fields = ("shop__name", "publishable_key")
    actions = ("rotate_secret", "rotate_publishable_key")
    readonly_fields = ("publishable_key", "secret_rotated_at", "snippet")

    def get_fields(self, request: HttpRequest, obj: Storefront | None = None) -> Any:
        if obj is None:
            return ("shop", *EDITABLE)
        return ("shop", "publishable_key", "snippet", *EDITABLE, "secret_rotated_at")

    def formfield_for_dbfield(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> Any:
        if isinstance(db_field, URLField):
            kwargs["assume_scheme"] = "https"  # a shop's account pages: "www.shop.no/login" means https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Storefront | None = None) -> Any:
        return ("shop", *self.readonly_fields) if obj is not None else ()

    @admin.display(description=_("allowed origins"))
    def origins_count(self, obj: Storefront) -> int:
        return len(obj.origins)

    @admin.display(description=_("snippet for the theme"))
    def snippet(self, obj: Storefront) -> SafeString:
        script = settings.KLUBB_PORTAL_URL.rstrip("/") + reverse("embed:script")
        return format_html(
            '<code>&lt;script src="{}" data-klubb-shop="{}" async&gt;&lt;/script&gt;</code>',
            script,
            obj.publishable_key,
        )

    def save_model(self, request: HttpRequest, obj: Storefront, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        keys = storefront_create(shop=obj.shop, allowed_origins=obj.allowed_origins)
        for name in EDITABLE:
            setattr(keys.storefront, name, getattr(obj, name))
        keys.storefront.save(update_fields=list(EDITABLE))
        # The admin goes on with ``obj`` (history, redirect): make it the saved storefront.
        for field in Storefront._meta.concrete_fields:
            setattr(obj, field.attname, getattr(keys.storefront, field.attname))
        obj._state.adding, obj._state.db = False, keys.storefront._state.db
        audit_record(staff=request.user, action=AuditAction.CREATE, obj=obj, after=audit_snapshot(obj))
        self._secret_shown(request, keys.secret)

    def _secret_shown(self, request: HttpRequest, secret: str) -> None:
        messages.success(
            request,
            format_html(
                "{} <code>{}</code> {}",
                gettext("The storefront secret is"),
                secret,
                gettext(
                    "Copy it into the shop's theme settings now: it will not be shown again. The theme signs the "
                    "signed-in customer with it (see the README's storefront guide)."
                ),
            ),
        )

    @admin.action(description=_("Rotate the storefront secret (the old one stops working)"), permissions=["change"])
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Storefront]) -> None:
        for storefront in queryset.select_related("shop"):
            before = audit_snapshot(storefront)
            keys = storefront_secret_rotate(storefront=storefront)
            audit_record(
                staff=request.user, action=AuditAction.CHANGE, obj=storefront, before=before,
                after=audit_snapshot(storefront),
            )  # fmt: skip
            self._secret_shown(request, f"{storefront.shop}: {keys.secret}")

    @admin.action(description=_("Rotate the publishable key (the old one stops working)"), permissions=["change"])
    def rotate_publishable_key(self, request: HttpRequest, queryset: QuerySet[Storefront]) -> None:
        for storefront in queryset.select_related("shop"):
            before = audit_snapshot(storefront)
            storefront_key_rotate(storefront=storefront)
            audit_record(
                staff=request.user, action=AuditAction.CHANGE, obj=storefront, before=before,
                after=audit_snapshot(storefront),
            )  # fmt: skip
            messages.success(
                request,
                gettext("%(shop)s's new publishable key is %(key)s: put it in the theme's snippet.")
                % {"shop": storefront.shop, "key": storefront.publishable_key},
            )
