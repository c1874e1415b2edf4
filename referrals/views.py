"""Referral pages: the landing page of a referral link, the member's invite page, and sign-up with a code."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import segno
from allauth.account.views import SignupView as AllauthSignupView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from config.proxies import client_ip
from loyalty.models import Programme
from members.decorators import member_required
from members.models import Member
from referrals.attribution import attribution_code, attribution_remember
from referrals.models import ReferralProgramme
from referrals.selectors import code_lookup, member_friend_discount, member_friends, member_referral_stats
from referrals.services import referral_click_record, referral_code_for
from referrals.terms import discount_terms, programme_discount_terms


def landing(request: HttpRequest, code: str) -> HttpResponse:
    """``/r/{code}``: who invited you and what you get; remembers the code for the attribution window."""
    programme = ReferralProgramme.load()
    referral_code = code_lookup(code=code)
    if referral_code is None:
        return render(request, "referrals/unknown_code.html", {"code": code})
    terms = programme_discount_terms(programme)
    context = {
        "referrer": referral_code.member,
        "code": referral_code.code,
        "programme": programme,
        "discount": terms.describe() if terms else "",
    }
    response = render(request, "referrals/landing.html", context)
    if request.user.is_authenticated:
        # Already signed in: a member (often the referrer checking their own link), not a friend to win.
        return response
    referral_click_record(
        code=referral_code,
        ip_address=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    attribution_remember(request=request, response=response, code=referral_code.code, days=programme.attribution_days)
    return response


class SignupView(AllauthSignupView):
    """allauth's sign-up, with the remembered referral code filled in and the referrer named."""

    def get_initial(self) -> dict[str, Any]:
        initial = super().get_initial()
        code = attribution_code(request=self.request, days=ReferralProgramme.load().attribution_days)
        if code and code_lookup(code=code) is not None:
            initial["referral_code"] = code
        return initial

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        code = context["form"]["referral_code"].value() if "form" in context else ""
        referral_code = code_lookup(code=code) if code else None
        context["referrer"] = referral_code.member if referral_code else None
        context["referral_programme"] = ReferralProgramme.load()
        return context


signup = SignupView.as_view()


@member_required
def invite(request: HttpRequest, member: Member) -> HttpResponse:
    """The member's link, QR code, share buttons and results."""
    programme = ReferralProgramme.load()
    code = referral_code_for(member=member)
    terms = programme_discount_terms(programme)
    own_discount = member_friend_discount(member=member)
    link = request.build_absolute_uri(reverse("referral-landing", args=[code.code]))
    context = {
        "member": member,
        "programme": programme,
        "currency": Programme.load().currency,  # the minimum order is in the points programme's currency
        "link_works": programme.is_active and code.is_active,
        "code": code,
        "link": link,
        "qr_svg": segno.make(link, error="m").svg_inline(scale=5, dark="#1d1d1f", title=link),
        "share_text_url": quote(link),
        "stats": member_referral_stats(member=member),
        "friends": member_friends(member=member),
        "friend_discount": terms.describe() if terms else "",
        "own_discount": own_discount,
        "own_discount_terms": discount_terms(own_discount).describe() if own_discount else "",
    }
    return render(request, "referrals/invite.html", context)
