"""The member's page in the admin as one view of the person (the "member 360"): spend per currency, first and last
order, recent orders with shop and points, refunds, vouchers and staff adjustments with who and why.

Added to ``members``' ``MemberAdmin`` through ``member_admin_extend`` (after the "Points" fieldset of
``loyalty.staff.admin.members``). Every section reads ``member_overview`` once per page: a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import admin
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from loyalty.staff.member_360 import member_overview
from members.admin import MemberAdminExtension, member_admin_extend
from members.models import Member

TEMPLATES = "admin/loyalty/member/"


def _section(template: str, description: str | Promise) -> Callable[[Member], SafeString]:
    """A read-only field of the member's page: ``template`` rendered with the member's overview, which is read
    once per page (kept on the member object the page renders)."""

    @admin.display(description=description)
    def field(obj: Member) -> SafeString:
        if not hasattr(obj, "_admin_overview"):
            obj._admin_overview = member_overview(member=obj)  # type: ignore[attr-defined]
        return render_to_string(f"{TEMPLATES}{template}", {"member": obj, "overview": obj._admin_overview})

    field.__name__ = template.removesuffix(".html")
    return field


spend = _section("spend.html", _("spend"))
recent_orders = _section("orders.html", _("recent orders"))
refunds = _section("refunds.html", _("refunds"))
vouchers = _section("vouchers.html", _("vouchers"))
adjustments = _section("adjustments.html", _("adjustments"))
OVERVIEW_FIELDS = (spend, recent_orders, refunds, vouchers, adjustments)

member_admin_extend(
    MemberAdminExtension(
        readonly_fields=OVERVIEW_FIELDS,
        fieldsets=(
            (_("Orders and spend"), {"fields": (spend, recent_orders, refunds), "classes": ("klubb-360-section",)}),
            (_("Vouchers"), {"fields": (vouchers,), "classes": ("klubb-360-section",)}),
            (_("Adjustments by staff"), {"fields": (adjustments,), "classes": ("klubb-360-section",)}),
        ),
        fieldsets_at=2,  # after the person and the points
    )
)
