"""Reads of the referral programme: a member's own results, and the staff funnel."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import Member
from referrals.models import (
    FriendDiscount,
    FriendDiscountStatus,
    Referral,
    ReferralClick,
    ReferralCode,
    ReferralProgramme,
    ReferralStatus,
)


def code_normalise(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def code_lookup(*, code: str) -> ReferralCode | None:
    """The active code (case-insensitive, spaces and dashes ignored) while the programme is on, else None."""
    normalised = code_normalise(code)
    if not normalised or not ReferralProgramme.load().is_active:
        return None
    return (
        ReferralCode.objects.select_related("member__user")
        .filter(code=normalised, is_active=True, member__erased_at__isnull=True, member__user__is_active=True)
        .first()
    )


@dataclass(frozen=True)
class MemberReferralStats:
    clicks: int
    joined: int
    qualified: int
    rewarded: int
    points_earned: int


def member_friend_discount(*, member: Member) -> FriendDiscount | None:
    """The member's own welcome discount code (a friend who joined through an invitation), while it can be used."""
    return FriendDiscount.objects.filter(
        referral__friend=member, shared=False, status=FriendDiscountStatus.ISSUED, expires_at__gt=timezone.now()
    ).first()


def member_referral_stats(*, member: Member) -> MemberReferralStats:
    made = Referral.objects.filter(referrer=member)
    totals = made.aggregate(
        joined=Count("id"),
        qualified=Count("id", filter=Q(qualified_at__isnull=False)),
        rewarded=Count("id", filter=Q(status=ReferralStatus.REWARDED)),
        points=Sum("referrer_entry__points"),
    )
    return MemberReferralStats(
        clicks=ReferralClick.objects.filter(code__member=member).count(),
        joined=totals["joined"],
        qualified=totals["qualified"],
        rewarded=totals["rewarded"],
        points_earned=totals["points"] or 0,
    )


def member_friends(*, member: Member) -> list[Referral]:
    """The friends a member referred, newest first (the page shows first names only)."""
    return list(Referral.objects.filter(referrer=member).select_related("friend__user").order_by("-created_at")[:50])


@dataclass(frozen=True)
class MemberReferrals:
    """Both ways: who referred the member (if anyone), and the friends they referred (the newest ``limit``)."""

    referred_by: Referral | None
    made: list[Referral]
    made_count: int


def member_referrals(*, member: Member, limit: int = 10) -> MemberReferrals:
    """For the member's page in the admin, in three queries however many friends they referred."""
    made = Referral.objects.filter(referrer=member)
    return MemberReferrals(
        referred_by=Referral.objects.filter(friend=member).select_related("referrer__user", "code").first(),
        made=list(made.select_related("friend__user").order_by("-created_at", "-id")[:limit]),
        made_count=made.count(),
    )


@dataclass(frozen=True)
class Funnel:
    clicks: int
    joined: int
    qualified: int
    rewarded: int
    rejected: int
    in_review: int


def referral_funnel(*, start: dt.datetime, end: dt.datetime) -> Funnel:
    """What happened in [start, end): each count by the time that step happened."""
    referrals = Referral.objects.all()
    return Funnel(
        clicks=ReferralClick.objects.filter(at__gte=start, at__lt=end).count(),
        joined=referrals.filter(created_at__gte=start, created_at__lt=end).count(),
        qualified=referrals.filter(qualified_at__gte=start, qualified_at__lt=end).count(),
        rewarded=referrals.filter(rewarded_at__gte=start, rewarded_at__lt=end).count(),
        rejected=referrals.filter(rejected_at__gte=start, rejected_at__lt=end).count(),
        in_review=referrals.filter(status=ReferralStatus.REVIEW).count(),
    )


def top_referrers(*, start: dt.datetime, end: dt.datetime, limit: int = 10) -> list[Member]:
    """Members with the most friends joined in the period, with ``joined``, ``rewarded``, ``referral_points``."""
    in_period = Q(referrals_made__created_at__gte=start, referrals_made__created_at__lt=end)
    return list(
        Member.objects.annotate(
            joined=Count("referrals_made", filter=in_period),
            rewarded=Count("referrals_made", filter=in_period & Q(referrals_made__status=ReferralStatus.REWARDED)),
            referral_points=Sum("referrals_made__referrer_entry__points", filter=in_period),
        )
        .filter(joined__gt=0)
        .select_related("user")
        .order_by("-joined", "-rewarded")[:limit]
    )


def referral_funnel_rows(start: dt.datetime, end: dt.datetime) -> list[tuple[str, int]]:
    """The funnel as rows for the staff dashboard (registered with ``loyalty.hooks.on_dashboard_funnel``)."""
    funnel = referral_funnel(start=start, end=end)
    return [
        (str(_("Referral link clicks")), funnel.clicks),
        (str(_("Friends joined")), funnel.joined),
        (str(_("Friends qualified (first order)")), funnel.qualified),
        (str(_("Referrers rewarded")), funnel.rewarded),
        (str(_("Referrals rejected")), funnel.rejected),
    ]


def segment_referral_members() -> tuple[QuerySet[Referral], QuerySet[Referral]]:
    """For segments' referral filter (``loyalty.hooks.on_segment_referrals``): the ids of members who referred
    a friend, and of members who joined through a referral (a referral of any status counts)."""
    return Referral.objects.values("referrer_id"), Referral.objects.values("friend_id")
