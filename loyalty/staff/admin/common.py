"""What several of the points engine's admins share: the read-only mixin, how a balance and a tier look, and CSV
downloads."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any

from django.http import HttpRequest, StreamingHttpResponse
from django.utils.formats import number_format
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from loyalty.models import Tier

NEGATIVE_BALANCE_WARNING = _("Negative because refunded points had already been spent; only a clawback can do this.")


class ReadOnlyAdminMixin:
    """View-only: these rows change only through services (or arrive from shops)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def balance_html(balance: int) -> SafeString:
    if balance < 0:
        return format_html(
            '<strong style="color: var(--error-fg, #ba2121)" title="{}">{} ⚠</strong>',
            NEGATIVE_BALANCE_WARNING,
            points_text(balance),
        )
    return format_html("{}", points_text(balance))


def points_text(points: int) -> str:
    """Points as the staff member's language groups them ("6,834"; "6 834" in nb), as the admin's tables do."""
    return number_format(points, force_grouping=True)


def tier_badge(tier: Tier | None) -> SafeString | str:
    if tier is None:
        return "—"
    return format_html(
        '<span style="display: inline-block; padding: 0 .6em; border-radius: 1em; background: {}; '
        'color: #fff; font-weight: 600; text-shadow: 0 0 2px #000a">{}</span>',
        tier.colour,
        tier.name,
    )


def csv_response(name: str, rows: Iterable[Sequence[Any]]) -> StreamingHttpResponse:
    """Rows as a downloaded CSV file, written as they are read."""

    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response
