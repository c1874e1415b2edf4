"""Opening balances from another programme: the imports so far (read-only), and "Import balances", the upload
with its dry run and its report (counts, and every refused line with its reason, as a CSV download too)."""

from __future__ import annotations

import base64
import csv
import io
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty.models import BalanceImport
from loyalty.openings import (
    COLUMN_PRESETS,
    BalanceReport,
    BatchRefused,
    HeaderError,
    balance_rows_read,
    balances_import,
    file_digest,
)
from loyalty.staff.admin.common import ReadOnlyAdminMixin
from loyalty.staff.forms import BalanceImportForm

UPLOAD_TEMPLATE = "admin/loyalty/balanceimport/upload.html"
SHOWN_REFUSALS = 500  # on the page; the CSV download has them all


@admin.register(BalanceImport)
class BalanceImportAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Each import of opening balances by its batch id; "Add" is the upload ("Import balances")."""

    list_display = ("batch_id", "file_name", "staff", "started_at", "finished_at", "imported", "refused")
    list_select_related = ("staff",)
    search_fields = ("batch_id", "file_name")
    fields = ("batch_id", "file_name", "digest", "staff", "started_at", "finished_at", "report")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("loyalty.add_balanceimport")

    @admin.display(description=_("imported"))
    def imported(self, obj: BalanceImport) -> int | None:
        return obj.report.get("imported")

    @admin.display(description=_("refused"))
    def refused(self, obj: BalanceImport) -> int | None:
        return len(obj.report["refused"]) if "refused" in obj.report else None

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None) -> Any:
        if not self.has_add_permission(request):
            return super().add_view(request, form_url, extra_context)  # the admin's own refusal
        form = BalanceImportForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            report = self._import(request, form)
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Import balances from another programme"),
            "opts": self.opts,
            "adminform": adminform,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
            "report": report,
            "refusals": report.refused[:SHOWN_REFUSALS] if report else [],
            "refused_csv": _refused_csv(report) if report and report.refused else "",
        }
        return TemplateResponse(request, UPLOAD_TEMPLATE, context)

    def _import(self, request: HttpRequest, form: BalanceImportForm) -> BalanceReport | None:
        data = form.cleaned_data["file"].read()
        try:
            stream = io.StringIO(data.decode("utf-8-sig"), newline="")
            report = balances_import(
                rows=balance_rows_read(stream, columns=COLUMN_PRESETS[form.cleaned_data["columns"]]),
                batch_id=form.cleaned_data["batch_id"], digest=file_digest(data),
                file_name=form.cleaned_data["file"].name, shop=form.cleaned_data["shop"], staff=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )  # fmt: skip
        except UnicodeDecodeError:
            form.add_error("file", gettext("The file is not UTF-8 text."))
            return None
        except HeaderError as error:
            form.add_error("file", error.message)
            return None
        except BatchRefused as error:
            form.add_error("batch_id", error.message)
            return None
        if report.finished_before:
            messages.info(request, gettext("Batch %(batch)s was imported before: nothing changed.")
                          % {"batch": report.batch_id})  # fmt: skip
        elif not report.dry_run:
            messages.success(request, gettext("Imported %(count)s opening balances as batch %(batch)s.")
                             % {"count": report.imported, "batch": report.batch_id})  # fmt: skip
        return report


def _refused_csv(report: BalanceReport) -> str:
    """The refused lines as a ``data:`` address for a download link (a dry run keeps nothing to fetch later)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["line", "code", "column", "message"])
    writer.writerows([refusal.line, refusal.code, refusal.field, refusal.message] for refusal in report.refused)
    return "data:text/csv;charset=utf-8;base64," + base64.b64encode(out.getvalue().encode()).decode()
