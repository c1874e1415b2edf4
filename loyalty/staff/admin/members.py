"""The points part of the member admin: balance and tier columns and filters, a "Points" fieldset (balance, tier,
progress, recent entries) and the "Adjust points" page.

``members`` owns ``MemberAdmin`` and knows nothing of points; this module adds to it through
``member_admin_extend`` when it is imported (see ``members.admin.MemberAdminExtension``).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.errors import LoyaltyError
from loyalty.ledger import points_adjust
from loyalty.models import PointsAccount, Tier
from loyalty.selectors import Standing, member_entries, member_standing
from loyalty.staff.admin.common import NEGATIVE_BALANCE_WARNING, balance_html, points_text, tier_badge
from loyalty.staff.forms import PointsAdjustForm
from members.admin import MemberAdmin, MemberAdminExtension, member_admin_extend
from members.models import Member

# Staff who may add ledger entries may adjust points; the entries themselves go through the service.
ADJUST_POINTS_PERMISSION = "loyalty.add_ledgerentry"
RECENT_ENTRIES = 20
CHANGE_FORM_TEMPLATE = "admin/loyalty/member/change_form.html"
ADJUST_POINTS_TEMPLATE = "admin/loyalty/member/adjust_points.html"
ENTRIES_TEMPLATE = "admin/loyalty/member/recent_entries.html"


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


def with_account(request: HttpRequest, queryset: QuerySet[Member]) -> QuerySet[Member]:
    """The account and tier come with the member: no query per row in the list."""
    return queryset.select_related("points__tier")


def _account(member: Member) -> PointsAccount | None:
    """The member's points account as loaded with ``select_related("points__tier")``, without a query."""
    try:
        return member.points
    except PointsAccount.DoesNotExist:
        return None


# Changelist columns (no query per row: the account and tier come with the member).


@admin.display(description=_("balance"), ordering="points__balance")
def balance(obj: Member) -> SafeString:
    account = _account(obj)
    return balance_html(account.balance if account else 0)


@admin.display(description=_("tier"), ordering="points__tier__threshold")
def tier(obj: Member) -> SafeString | str:
    account = _account(obj)
    return tier_badge(account.tier if account else None)


# Change page (a fixed number of queries, however long the member's history).


def _standing(obj: Member) -> Standing:
    standing = getattr(obj, "_admin_standing", None)
    if standing is None:
        standing = member_standing(member=obj)
        obj._admin_standing = standing  # type: ignore[attr-defined]
    return standing


@admin.display(description=_("balance"))
def balance_detail(obj: Member) -> SafeString:
    standing = _standing(obj)
    points = standing.balance
    parts = format_html(
        '<ul class="klubb-standing"><li>{}: <strong data-key="spendable">{}</strong></li>'
        '<li>{}: <strong data-key="pending">{}</strong></li><li>{}: <strong data-key="reserved">{}</strong></li></ul>',
        gettext("Spendable now"),
        points_text(standing.spendable),
        gettext("Pending (return window open)"),
        points_text(standing.pending),
        gettext("Reserved at checkouts"),
        points_text(standing.reserved),
    )
    if points < 0:
        return format_html(
            '<strong style="color: var(--error-fg, #ba2121)">{}</strong>'
            '<p class="errornote" style="margin-top: .5em">⚠ {}</p>',
            points_text(points),
            NEGATIVE_BALANCE_WARNING,
        )
    return format_html("<strong>{}</strong>{}", points_text(points), parts)


@admin.display(description=_("tier"))
def tier_detail(obj: Member) -> SafeString | str:
    return tier_badge(_standing(obj).tier)


@admin.display(description=_("progress to next tier"))
def tier_progress(obj: Member) -> SafeString:
    standing = _standing(obj)
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
def recent_entries(obj: Member) -> SafeString:
    entries = list(member_entries(member=obj)[:RECENT_ENTRIES])
    return render_to_string(ENTRIES_TEMPLATE, {"member": obj, "entries": entries, "limit": RECENT_ENTRIES})


POINTS_FIELDS = (balance_detail, tier_detail, tier_progress, recent_entries)


# Adjust points.


def may_adjust_points(model_admin: MemberAdmin, request: HttpRequest, obj: Member | None = None) -> bool:
    return request.user.has_perm(ADJUST_POINTS_PERMISSION) and model_admin.has_view_or_change_permission(request, obj)


def _admin_url(model_admin: MemberAdmin, view: str, object_id: Any) -> str:
    opts = model_admin.opts
    return reverse(f"{model_admin.admin_site.name}:{opts.app_label}_{opts.model_name}_{view}", args=[object_id])


def adjust_points_urls(model_admin: MemberAdmin) -> list[URLPattern]:
    return [
        path(
            "<path:object_id>/adjust-points/",
            model_admin.admin_site.admin_view(partial(adjust_points_view, model_admin)),
            name=f"{model_admin.opts.app_label}_{model_admin.opts.model_name}_adjust_points",
        ),
    ]


def adjust_points_link(model_admin: MemberAdmin, request: HttpRequest, object_id: str) -> dict[str, Any]:
    """The "Adjust points" button of the change page (``CHANGE_FORM_TEMPLATE``), for staff who may use it."""
    if may_adjust_points(model_admin, request):
        return {"adjust_points_url": _admin_url(model_admin, "adjust_points", object_id)}
    return {}


def adjust_points_view(model_admin: MemberAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    member = model_admin.get_object(request, unquote(object_id))
    if member is None:
        return model_admin._get_obj_does_not_exist_redirect(request, model_admin.opts, object_id)
    if not may_adjust_points(model_admin, request, member):
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
            model_admin.log_change(
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
            return HttpResponseRedirect(_admin_url(model_admin, "change", member.pk))
    adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=model_admin)
    context = {
        **model_admin.admin_site.each_context(request),
        "title": gettext("Adjust points for %(member)s") % {"member": member},
        "subtitle": None,
        "opts": model_admin.opts,
        "original": member,
        "member": member,
        "standing": _standing(member),
        "negative_warning": NEGATIVE_BALANCE_WARNING,
        "adminform": adminform,
        "form": form,
        "errors": helpers.AdminErrorList(form, []),
        "media": model_admin.media + adminform.media,
        "has_view_permission": model_admin.has_view_permission(request, member),
    }
    return TemplateResponse(request, ADJUST_POINTS_TEMPLATE, context)


member_admin_extend(
    MemberAdminExtension(
        # Points first after the person: what staff look for; the rest of the membership follows.
        list_display=(tier, balance),
        list_display_after="name",
        list_display_hide=("phone", "source"),
        list_filter=(TierListFilter, BalanceListFilter),
        readonly_fields=POINTS_FIELDS,
        fieldsets=((_("Points"), {"fields": POINTS_FIELDS}),),
        fieldsets_at=1,  # after the person
        queryset=with_account,
        urls=adjust_points_urls,
        change_view_context=adjust_points_link,
        change_form_template=CHANGE_FORM_TEMPLATE,
    )
)
