"""The staff admin: reached through the portal's sign-in (allauth) and only with two-factor authentication."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connection
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import cached_property

from members.auth import staff_has_two_factor


class KlubbAdminSite(admin.AdminSite):
    site_header = "Klubb"
    site_title = "Klubb admin"

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
