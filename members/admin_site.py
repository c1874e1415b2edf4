"""The staff admin: reached through the portal's sign-in (allauth) and only with two-factor authentication."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

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
