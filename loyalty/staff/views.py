"""The staff dashboard, a page of the admin (``/admin/dashboard/``), for staff with ``loyalty.view_dashboard``."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from dateutil.relativedelta import relativedelta
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.models import Programme
from loyalty.staff import charts
from loyalty.staff.admin import csv_response
from loyalty.staff.dashboard import CACHE_SECONDS, Period, dashboard_cached

DASHBOARD_PERMISSION = "loyalty.view_dashboard"
LONGEST_PERIOD = dt.timedelta(days=3 * 366)
CHART_WIDTHS = (charts.WIDTH, charts.NARROW)


class PeriodForm(forms.Form):
    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To (inclusive)"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict:
        cleaned = super().clean()
        first, last = cleaned.get("first"), cleaned.get("last")
        if first and last and (last < first or last - first > LONGEST_PERIOD):
            raise forms.ValidationError(_("Choose a period of one day to three years, the start first."))
        return cleaned


def dashboard(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(DASHBOARD_PERMISSION):
        raise PermissionDenied
    today = timezone.localdate()
    default = {"first": today - dt.timedelta(days=29), "last": today}
    form = PeriodForm(request.GET if "first" in request.GET else None, initial=default)
    period_dates = form.cleaned_data if form.is_bound and form.is_valid() else default
    period = Period.from_dates(first=period_dates["first"], last=period_dates["last"])
    programme = Programme.load()
    board, built_at = dashboard_cached(period=period, programme=programme, refresh="refresh" in request.GET)
    export = request.GET.get("export")
    if export:
        table = board.table(export)
        if table is None:
            raise Http404
        name = f"klubb-{table.key}-{period_dates['first']:%Y%m%d}-{period_dates['last']:%Y%m%d}"
        return csv_response(name, [table.header, *table.rows])
    context = {
        **admin.site.each_context(request),
        "title": gettext("Dashboard"),
        "form": form,
        "board": board,
        "built_at": built_at,
        "kept_minutes": CACHE_SECONDS // 60,
        "first": period_dates["first"],
        "last": period_dates["last"],
        "previous_first": board.previous.start.date(),
        "previous_last": (board.previous.end - dt.timedelta(days=1)).date(),
        "currency": programme.currency,
        "point_value": programme.point_value,
        # Each chart twice: for wide screens, and narrower with fewer dates for phones (CSS shows one).
        "members_charts": [charts.line_chart(board.members_series, width) for width in CHART_WIDTHS],
        "flow_charts": [charts.flow_bars(board.points_series, width) for width in CHART_WIDTHS],
        "tier_charts": [charts.distribution_bars(board.tier_distribution, width) for width in CHART_WIDTHS],
        "health_tables": board.tables_of("clv", "members_buying", "rewards", "retention", "replenishment"),
        "books_tables": board.tables_of("accounting", "breakage"),
        "returns_tables": board.tables_of("returns", "return_reasons", "returns_products", "returns_categories"),
        "other_tables": board.tables_of("summary", "tiers", "tier_movement", "tier_revenue", "referral_funnel"),
        "series_tables": board.tables_of("members_series", "points_series"),
        "query": urlencode({"first": period_dates["first"], "last": period_dates["last"]}),
        "presets": {
            "days30": urlencode({"first": today - dt.timedelta(days=29), "last": today}),
            "months12": urlencode({"first": today - relativedelta(months=12) + dt.timedelta(days=1), "last": today}),
        },
    }
    return TemplateResponse(request, "admin/loyalty/dashboard.html", context)
