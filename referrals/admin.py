"""Staff side of referrals: the programme's settings, the review queue with its evidence, and the funnel."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from members.admin import MemberAdminExtension, member_admin_extend
from members.models import Member
from referrals.models import FriendDiscount, Referral, ReferralClick, ReferralCode, ReferralProgramme, ReferralStatus
from referrals.selectors import member_referrals, referral_funnel, top_referrers
from referrals.services import referral_approve, referral_reject
from referrals.terms import discount_terms

FUNNEL_DEFAULT_DAYS = 30
MEMBER_REFERRALS_TEMPLATE = "admin/referrals/member_referrals.html"


@admin.display(description=_("referrals"))
def member_referrals_both_ways(obj: Member) -> SafeString:
    """On the member's page in the admin: who referred them, and the friends they referred."""
    return render_to_string(MEMBER_REFERRALS_TEMPLATE, {"member": obj, "referrals": member_referrals(member=obj)})


member_admin_extend(
    MemberAdminExtension(
        readonly_fields=(member_referrals_both_ways,),
        fieldsets=((_("Referrals"), {"fields": (member_referrals_both_ways,), "classes": ("klubb-360-section",)}),),
    )
)


@admin.register(ReferralProgramme)
class ReferralProgrammeAdmin(admin.ModelAdmin):
    fieldsets = (
        (None, {"fields": ("is_active", "friend_bonus", "referrer_reward", "minimum_order", "confirmation_days",
                           "attribution_days")}),
        (_("Friend's discount"), {"fields": ("friend_discount_kind", "friend_discount_value",
                                             "friend_discount_minimum_order", "friend_discount_valid_days")}),
        (_("Review"), {"fields": ("monthly_reward_limit", "burst_signups", "burst_minutes")}),
    )  # fmt: skip

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not ReferralProgramme.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReferralCode)
class ReferralCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "member", "is_active", "created_at")
    list_select_related = ("member__user",)
    list_filter = ("is_active",)
    search_fields = ("code", "member__user__email")
    readonly_fields = ("member", "code", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # every member gets one at enrolment


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ("created_at", "referrer", "friend", "status", "signals", "qualifying_order", "reward_due_at")
    list_select_related = ("referrer__user", "friend__user", "qualifying_order")
    list_filter = ("status", "source", "created_at")
    search_fields = ("referrer__user__email", "friend__user__email", "code__code", "signup_ip")
    date_hierarchy = "created_at"
    actions = ("approve", "reject")
    readonly_fields = (
        "referrer", "friend", "code", "status", "source", "created_at", "signup_ip", "signup_user_agent",
        "evidence", "qualifying_order", "qualified_at", "reward_due_at", "rewarded_at", "rejection_reason",
        "rejected_at", "friend_bonus_entry", "friend_discount_shown", "referrer_entry", "reviewed_by", "reviewed_at",
    )  # fmt: skip
    exclude = ("flags",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("fraud signals"))
    def signals(self, obj: Referral) -> str:
        return ", ".join(flag.get("rule", "") for flag in obj.flags) or "-"

    @admin.display(description=_("friend's discount"))
    def friend_discount_shown(self, obj: Referral) -> str:
        discount = FriendDiscount.objects.filter(referral=obj).select_related("used_order").first()
        if discount is None:
            return "-"
        used = discount.used_order.external_id if discount.used_order else ""
        return format_html(
            "{} · {} · {}{}",
            discount.code,
            discount_terms(discount).describe(),
            discount.get_status_display(),
            f" ({used})" if used else "",
        )

    @admin.display(description=_("evidence"))
    def evidence(self, obj: Referral) -> str:
        """What a reviewer needs: the signals, and the sign-ups that share this one's IP and browser."""
        same_source = Referral.objects.filter(signup_ip=obj.signup_ip, signup_user_agent=obj.signup_user_agent)
        rows = [
            (r.created_at.strftime("%Y-%m-%d %H:%M"), str(r.referrer), str(r.friend), r.signup_ip or "")
            for r in same_source.exclude(pk=obj.pk).select_related("referrer__user", "friend__user")[:20]
        ] if obj.signup_ip else []  # fmt: skip
        return format_html(
            "<pre>{}</pre><p>{}</p><pre>{}</pre>",
            json.dumps(obj.flags, indent=2, ensure_ascii=False),
            _("Other sign-ups from the same IP address and browser:"),
            "\n".join(" · ".join(row) for row in rows) or "-",
        )

    @admin.action(description=_("Approve: pay the welcome bonus, and the referrer when due"), permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        done = [referral_approve(referral=r, staff=request.user) for r in queryset.filter(status=ReferralStatus.REVIEW)]
        self.message_user(request, _("%(count)d referral(s) approved.") % {"count": len(done)})

    @admin.action(description=_("Reject (no points are paid)"), permissions=["change"])
    def reject(self, request: HttpRequest, queryset: QuerySet[Referral]) -> None:
        reason = str(_("Rejected by staff after review"))
        open_ones = queryset.exclude(status__in=[ReferralStatus.REWARDED, ReferralStatus.REJECTED])
        done = [referral_reject(referral=r, staff=request.user, reason=reason) for r in open_ones]
        self.message_user(request, _("%(count)d referral(s) rejected.") % {"count": len(done)})

    def get_urls(self) -> list[URLPattern]:
        funnel = path("funnel/", self.admin_site.admin_view(self.funnel_view), name="referrals_referral_funnel")
        return [funnel, *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"funnel_url": reverse("admin:referrals_referral_funnel"), **(extra_context or {})}
        return super().changelist_view(request, extra_context=extra)

    def funnel_view(self, request: HttpRequest) -> HttpResponse:
        today = timezone.localdate()
        start_day = parse_date(request.GET.get("from", "")) or today - dt.timedelta(days=FUNNEL_DEFAULT_DAYS)
        end_day = parse_date(request.GET.get("to", "")) or today
        start = timezone.make_aware(dt.datetime.combine(start_day, dt.time.min))
        end = timezone.make_aware(dt.datetime.combine(end_day + dt.timedelta(days=1), dt.time.min))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Referral funnel"),
            "start": start_day,
            "end": end_day,
            "funnel": referral_funnel(start=start, end=end),
            "top": top_referrers(start=start, end=end),
            "review_url": reverse("admin:referrals_referral_changelist") + "?status__exact=review",
        }
        return TemplateResponse(request, "admin/referrals/funnel.html", context)


@admin.register(ReferralClick)
class ReferralClickAdmin(admin.ModelAdmin):
    list_display = ("at", "code", "ip_address", "user_agent")
    list_select_related = ("code",)
    search_fields = ("code__code", "ip_address")
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
