"""The referral field on the sign-up form ("Who invited you?"), plus the new member's first name, on top of the
member's part (``members.signup.MemberSignupForm``: the marketing opt-in).

Plugged into allauth with ``ACCOUNT_SIGNUP_FORM_CLASS``; allauth calls ``signup`` once the member exists.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.proxies import client_ip
from members.signup import MemberSignupForm
from referrals.attribution import attribution_code, attribution_forget
from referrals.errors import ReferralRefused
from referrals.models import ReferralProgramme
from referrals.selectors import code_lookup
from referrals.services import referral_attach, referral_check


class SignupForm(MemberSignupForm):
    # allauth adds email and password to this form; the friend's code is optional, the opt-in comes last.
    field_order = ["first_name", "email", "password1", "password2", "referral_code", "email_marketing"]

    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    referral_code = forms.CharField(
        label=_("Who invited you? (optional)"),
        max_length=32,
        required=False,
        help_text=_("A friend's invitation code, if you have one."),
    )

    def clean_referral_code(self) -> str:
        code = self.cleaned_data["referral_code"].strip()
        if code and code_lookup(code=code) is None:
            raise forms.ValidationError(_("We do not know this invitation code. Check it, or leave the field empty."))
        return code

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code, email = data.get("referral_code"), data.get("email")
        referral_code = code_lookup(code=code) if code else None
        if referral_code is not None and email:
            try:
                referral_check(referrer=referral_code.member, email=email)
            except ReferralRefused:
                self.add_error("referral_code", _("This is your own invitation code: share it with friends instead."))
        return data

    def signup(self, request: HttpRequest, user: Any) -> None:
        super().signup(request, user)
        if self.cleaned_data.get("first_name"):
            user.first_name = self.cleaned_data["first_name"]
            user.save(update_fields=["first_name"])
        # A code typed or prefilled on the form, else the one remembered from the friend's link.
        code = self.cleaned_data.get("referral_code") or attribution_code(
            request=request, days=ReferralProgramme.load().attribution_days
        )
        if not code:
            return
        try:
            referral_attach(
                friend=user.member,
                code=code,
                source="portal",
                new_member=True,
                ip_address=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ReferralRefused:
            return  # checked in clean(); a race lost here only means no referral, never a wrong one
        attribution_forget(request)
