"""Earning rules (with a points preview for a sample order), points for actions and their awards, and segments
(live counts, CSV export, a message to their members)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from loyalty import selectors
from loyalty.campaigns import earning_points, earning_rules_active
from loyalty.campaigns.segments import segment_message_send
from loyalty.models import ActionAward, EarningRule, EarningRuleUse, PointsAction, Programme, Segment, SegmentSend
from loyalty.staff.admin.common import ReadOnlyAdminMixin, csv_response
from loyalty.staff.forms import EarningPreviewForm, SegmentMessageForm
from members.admin import AuditedAdminMixin


@admin.register(EarningRule)
class EarningRuleAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Campaigns on top of the base rate; "Preview points" shows what a sample order gets from each rule."""

    list_display = ("name", "kind", "multiplier", "bonus_points", "starts_at", "ends_at", "priority", "is_active")
    list_filter = ("is_active", "kind", "tiers", "shops")
    search_fields = ("name", "categories", "skus")
    filter_horizontal = ("tiers", "shops")
    change_list_template = "admin/loyalty/earningrule/change_list.html"
    preview_template = "admin/loyalty/earningrule/preview.html"
    fieldsets = (
        (None, {"fields": ("name", "kind", "multiplier", "bonus_points", "priority", "is_active")}),
        (_("When"), {"fields": ("starts_at", "ends_at")}),
        (_("Who and what"), {"fields": ("tiers", "shops", "categories", "skus", "min_order_amount")}),
        (_("Limit"), {"fields": ("cap_per_member",)}),
    )

    def get_urls(self) -> list[URLPattern]:
        own = [
            path(
                "preview/",
                self.admin_site.admin_view(self.preview_view),
                name=f"{self.opts.app_label}_{self.opts.model_name}_preview",
            )
        ]
        return own + super().get_urls()

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = EarningPreviewForm(request.POST or None, initial={"occurred_at": timezone.now(), "tax": 0})
        breakdown = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            breakdown = earning_points(
                programme=Programme.load(),
                shop=data["shop"],
                amount=data["amount"],
                tax=data["tax"],
                tier=data["tier"],
                at=data["occurred_at"],
                items=data["items"],
                rules=earning_rules_active(at=data["occurred_at"]),
            )
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Preview points for a sample order"),
            "opts": self.opts,
            "adminform": adminform,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
            "breakdown": breakdown,
        }
        return TemplateResponse(request, self.preview_template, context)


@admin.register(PointsAction)
class PointsActionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Points for sign-up, a completed profile and events shops report (the birthday bonus is a programme
    setting)."""

    list_display = ("name", "kind", "event_type", "points", "limit_per_member", "limit_days", "is_active", "awarded")
    list_filter = ("kind", "is_active")
    search_fields = ("name", "event_type")
    fields = ("name", "kind", "event_type", "points", "limit_per_member", "limit_days", "is_active")

    def get_queryset(self, request: HttpRequest) -> QuerySet[PointsAction]:
        return super().get_queryset(request).annotate(awarded_count=Count("awards", filter=Q(awards__points__gt=0)))

    @admin.display(description=_("times given"), ordering="awarded_count")
    def awarded(self, obj: PointsAction) -> int:
        return obj.awarded_count  # type: ignore[attr-defined]


@admin.register(ActionAward)
class ActionAwardAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "action", "member", "shop", "key", "points")
    list_select_related = ("action", "member__user", "shop")
    list_filter = ("action", "shop")
    search_fields = ("key", "member__user__email")
    fields = ("action", "member", "shop", "key", "points", "entry", "response", "created_at")


@admin.register(EarningRuleUse)
class EarningRuleUseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("rule", "member", "order", "points", "clawed_back")
    list_select_related = ("rule", "member__user", "order__shop")
    list_filter = ("rule",)
    search_fields = ("order__external_id", "member__user__email")


SEND_SEGMENT_PERMISSION = "loyalty.add_segmentsend"


@admin.register(Segment)
class SegmentAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Saved filters over members, counted live; export to CSV, or send a (marketing) message to them."""

    list_display = ("name", "live_count", "export_link", "send_link", "created_at")
    search_fields = ("name", "description")
    filter_horizontal = ("tiers", "interests")
    readonly_fields = ("live_count", "export_link", "send_link")
    send_template = "admin/loyalty/segment/send.html"
    fieldsets = (
        (None, {"fields": ("name", "description", "live_count", "export_link", "send_link")}),
        (_("Membership"), {"fields": ("tiers", "interests", "language", "email_consent", "sms_consent")}),
        (_("Orders"), {"fields": ("last_order_after", "last_order_before")}),
        (_("Spend"), {"fields": ("spend_from", "spend_until", "spend_min", "spend_max", "spend_currency")}),
        (_("Points and referrals"), {"fields": ("balance_min", "balance_max", "referrals")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Segment]:
        return super().get_queryset(request).prefetch_related("tiers", "interests")

    @admin.display(description=_("members now"))
    def live_count(self, obj: Segment) -> int | str:
        return selectors.segment_members(segment=obj).count() if obj.pk else "—"

    @admin.display(description=_("export"))
    def export_link(self, obj: Segment) -> SafeString | str:
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', self._url("export", obj.pk), gettext("CSV"))

    @admin.display(description=_("message"))
    def send_link(self, obj: Segment) -> SafeString | str:
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', self._url("send", obj.pk), gettext("Send a message"))

    def _url(self, view: str, object_id: Any) -> str:
        return reverse(f"{self.admin_site.name}:{self.opts.app_label}_{self.opts.model_name}_{view}", args=[object_id])

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        own = [
            path("<path:object_id>/export/", self.admin_site.admin_view(self.export_view), name=f"{name}_export"),
            path("<path:object_id>/send/", self.admin_site.admin_view(self.send_view), name=f"{name}_send"),
        ]
        return own + super().get_urls()

    def _segment(self, request: HttpRequest, object_id: str) -> Segment:
        segment = self.get_object(request, unquote(object_id))
        if segment is None or not self.has_view_permission(request, segment):
            raise PermissionDenied
        return segment

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        segment = self._segment(request, object_id)
        return csv_response(f"segment-{segment.pk}", selectors.segment_export_rows(segment=segment))

    def send_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        segment = self._segment(request, object_id)
        if not request.user.has_perm(SEND_SEGMENT_PERMISSION):
            raise PermissionDenied
        form = SegmentMessageForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            send = segment_message_send(
                segment=segment,
                subject=form.cleaned_data["subject"],
                text=form.cleaned_data["text"],
                staff=request.user,
            )
            messages.success(
                request,
                gettext("Queued %(queued)s message(s) to %(members)s member(s); only consented channels are used.")
                % {"queued": send.queued, "members": send.members},
            )
            return HttpResponseRedirect(self._url("change", segment.pk))
        members = selectors.segment_members(segment=segment)
        adminform = helpers.AdminForm(form, [(None, {"fields": list(form.fields)})], {}, model_admin=self)
        context = {
            **self.admin_site.each_context(request),
            "title": gettext("Send a message to %(segment)s") % {"segment": segment},
            "opts": self.opts,
            "original": segment,
            "adminform": adminform,
            "form": form,
            "errors": helpers.AdminErrorList(form, []),
            "media": self.media + adminform.media,
            "counts": members.aggregate(
                total=Count("pk"),
                email=Count("pk", filter=Q(email_marketing=True)),
                sms=Count("pk", filter=Q(sms_marketing=True) & ~Q(phone="")),
            ),
        }
        return TemplateResponse(request, self.send_template, context)


@admin.register(SegmentSend)
class SegmentSendAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "segment", "subject", "staff", "members", "queued")
    list_select_related = ("segment", "staff")
    search_fields = ("subject", "segment__name")
    fields = ("segment", "subject", "body", "staff", "members", "queued", "created_at")
