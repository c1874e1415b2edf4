"""The member's part of the sign-up form: the marketing opt-in, with its proof.

Apart from ``members.forms``: allauth's forms module imports the sign-up form class (``ACCOUNT_SIGNUP_FORM_CLASS``,
``referrals.forms.SignupForm``, built on this one) while it loads, so this module must not import allauth's forms.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from config.proxies import client_ip
from members.models import ConsentChannel, ConsentSource
from members.services import consent_set

EMAIL_MARKETING_LABEL = _("Yes, send me offers and news from the club by email.")


class MemberSignupForm(forms.Form):
    """The member's part of sign-up (allauth's ``ACCOUNT_SIGNUP_FORM_CLASS`` builds on it, through
    ``referrals.forms.SignupForm``): the marketing opt-in, unticked, recorded with its proof when ticked."""

    email_marketing = forms.BooleanField(
        label=EMAIL_MARKETING_LABEL,
        required=False,
        help_text=_("You can say no again at any time, on your page or with the link in every email."),
    )

    def signup(self, request: HttpRequest, user: Any) -> None:
        """Called by allauth once the member exists (``members.auth.AccountAdapter.save_user``)."""
        if not self.cleaned_data.get("email_marketing"):
            return
        consent_set(
            member=user.member,
            channel=ConsentChannel.EMAIL,
            granted=True,
            source=ConsentSource.PORTAL,
            wording=str(self.fields["email_marketing"].label),
            ip_address=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
