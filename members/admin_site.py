"""The staff admin: reached through the portal's sign-in (allauth) and only with two-factor authentication."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.utils.functional import Promise, cached_property
from django.utils.translation import gettext_lazy as _

from members.auth import staff_has_two_factor


@dataclass(frozen=True)
class AdminGroup:
    """A part of the admin's navigation, named as staff think of the work: its models as ``app_label.model_name``
    (strings, so ``members`` names the models of the apps built on it without importing them), in this order."""

    slug: str
    name: str | Promise
    models: tuple[str, ...]


# The admin index and the side navigation show these groups, in this order. A registered model in no group is an
# internal table (the outbox, rule uses, sign-in tokens, ...): superusers find it under "System"; others never see it.
ADMIN_GROUPS: tuple[AdminGroup, ...] = (
    AdminGroup("members", _("Members"), ("members.member", "loyalty.shopcustomer", "loyalty.balanceimport")),
    AdminGroup(
        "orders-points",
        _("Orders and points"),
        (
            "loyalty.order",
            "loyalty.refund",
            "loyalty.returnreason",
            "loyalty.ledgerentry",
            "loyalty.pointsaccount",
            "loyalty.tierchange",
        ),
    ),
    AdminGroup(
        "rewards-vouchers",
        _("Rewards and vouchers"),
        ("loyalty.reward", "loyalty.voucher", "loyalty.winbackoffer", "loyalty.redemption"),
    ),
    AdminGroup(
        "campaigns",
        _("Campaigns"),
        (
            "loyalty.earningrule",
            "loyalty.pointsaction",
            "loyalty.actionaward",
            "loyalty.segment",
            "loyalty.replenishmentrule",
            "loyalty.replenishmentreminder",
        ),
    ),
    AdminGroup(
        "referrals", _("Referrals"), ("referrals.referral", "referrals.referralcode", "referrals.referralclick")
    ),
    AdminGroup("messages", _("Messages"), ("members.message", "loyalty.segmentsend", "members.messagetemplate")),
    AdminGroup(
        "shops",
        _("Shops and integrations"),
        (
            "loyalty.shop",
            "loyalty.apikey",
            "loyalty.storefront",
            "loyalty.webhooksubscription",
            "loyalty.webhookdelivery",
            "loyalty.inboundwebhook",
        ),
    ),
    AdminGroup(
        "settings",
        _("Settings"),
        (
            "loyalty.programme",
            "loyalty.tier",
            "referrals.referralprogramme",
            "members.interest",
            "members.user",
            "auth.group",
            "members.auditentry",
        ),
    ),
)
SYSTEM_GROUP = "system"
# The staff dashboard leads the navigation, for those who may see it (it is no model, so it is added by hand).
DASHBOARD_URL_NAME = "staff-dashboard"
DASHBOARD_PERMISSION = "loyalty.view_dashboard"


class KlubbAdminSite(admin.AdminSite):
    site_header = "Klubb"
    site_title = "Klubb admin"

    def get_app_list(self, request: HttpRequest, app_label: str | None = None) -> list[dict[str, Any]]:
        """The navigation by task (``ADMIN_GROUPS``); an app's own page (``app_label``) lists that app's models,
        without its internal tables for anyone but a superuser."""
        if app_label is not None:
            apps = super().get_app_list(request, app_label)
            if not request.user.is_superuser:
                for app in apps:
                    app["models"] = [m for m in app["models"] if _model_key(m) in _GROUPED]
                apps = [app for app in apps if app["models"]]
            return apps
        return self.admin_groups(request)

    def admin_groups(self, request: HttpRequest) -> list[dict[str, Any]]:
        """``[{"name", "app_label" (the group's slug), "app_url", "models": [...]}, ...]`` as the admin's
        templates expect of an app, one per group with a model this user may see."""
        available = {
            _model_key(model): model for app in self._build_app_dict(request).values() for model in app["models"]
        }
        groups: list[dict[str, Any]] = []
        if request.user.has_perm(DASHBOARD_PERMISSION):
            groups.append(self._group_dict(AdminGroup("insight", _("Insight"), ()), [self._dashboard_entry()]))
        for group in ADMIN_GROUPS:
            models = [available[key] for key in group.models if key in available]
            if models:
                groups.append(self._group_dict(group, models))
        if request.user.is_superuser:
            rest = sorted((m for key, m in available.items() if key not in _GROUPED), key=lambda m: str(m["name"]))
            if rest:
                groups.append(self._group_dict(AdminGroup(SYSTEM_GROUP, _("System"), ()), rest))
        return groups

    def _group_dict(self, group: AdminGroup, models: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "name": group.name,
            "app_label": group.slug,
            "app_url": reverse(f"{self.name}:group", kwargs={"slug": group.slug}),
            "has_module_perms": True,
            "models": models,
        }

    def _dashboard_entry(self) -> dict[str, Any]:
        return {
            "name": _("Dashboard"),
            "object_name": "Dashboard",
            "perms": {"view": True},
            "admin_url": reverse(DASHBOARD_URL_NAME),
            "add_url": None,
            "view_only": True,
        }

    def get_urls(self) -> list[URLResolver | URLPattern]:
        group = path("group/<slug:slug>/", self.admin_view(self.group_index), name="group")
        return [group, *super().get_urls()]

    def group_index(self, request: HttpRequest, slug: str) -> TemplateResponse:
        """One group's page: its models, as an app's page shows them."""
        app_list = [group for group in self.admin_groups(request) if group["app_label"] == slug]
        if not app_list:
            raise Http404("The requested admin page does not exist.")
        request.current_app = self.name
        context = {
            **self.each_context(request),
            "title": app_list[0]["name"],
            "subtitle": None,
            "app_list": app_list,
            "app_label": slug,
        }
        return TemplateResponse(request, "admin/app_index.html", context)

    def has_permission(self, request: HttpRequest) -> bool:
        return super().has_permission(request) and staff_has_two_factor(request.user)

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        """Send people to allauth's login (which asks for the TOTP code), or to set up TOTP first."""
        next_url = request.GET.get("next") or reverse("admin:index", current_app=self.name)
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff and not staff_has_two_factor(user):
            return HttpResponseRedirect(f"{reverse('mfa_activate_totp')}?{urlencode({'next': next_url})}")
        if user.is_authenticated and not user.is_staff:
            return HttpResponseRedirect(reverse("portal:home"))
        return HttpResponseRedirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


def _model_key(model: dict[str, Any]) -> str:
    meta = model["model"]._meta
    return f"{meta.app_label}.{meta.model_name}"


_GROUPED = frozenset(key for group in ADMIN_GROUPS for key in group.models)
_GROUP_OF = {key: group for group in ADMIN_GROUPS for key in group.models}


def admin_group_of(app_label: str, model_name: str) -> AdminGroup:
    """The navigation group a model's pages belong to (for their breadcrumbs): "System" for an internal table."""
    return _GROUP_OF.get(f"{app_label}.{model_name}") or AdminGroup(SYSTEM_GROUP, _("System"), ())


class EstimatedCountPaginator(Paginator):
    """Pages of a table of millions of rows: an unfiltered list shows PostgreSQL's estimate of the row count
    (kept by ANALYZE) instead of counting every row on every page view. Filtered lists count exactly."""

    ESTIMATE_FROM = 100_000

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                table = query.model._meta.db_table
                cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [table])
                estimate = cursor.fetchone()[0]
            if estimate >= self.ESTIMATE_FROM:
                return estimate
        return super().count


class LargeTableAdminMixin:
    """For admin lists of tables that grow with every order (the ledger, orders, messages): the estimated count
    when unfiltered, one count (not two) when filtered, and no ``date_hierarchy``, whose year links come from
    a DISTINCT over the whole table (seconds at ten million rows); filter by date instead."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False
