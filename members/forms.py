"""Forms of the member's own pages. They validate; ``members.services`` writes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from allauth.account import forms as allauth_forms
from django import forms
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.emails import email_canonical
from members.models import Interest, Member
from members.phones import normalize_phone
from members.signup import EMAIL_MARKETING_LABEL

OLDEST_AGE_YEARS = 120


class ProfileForm(forms.Form):
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        required=False,
        help_text=_("With country code, e.g. +47 912 34 567."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    birthday = forms.DateField(
        label=_("Birthday"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    interests = forms.ModelMultipleChoiceField(
        label=_("Interests"),
        queryset=Interest.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("So that we can send you offers you care about."),
    )

    def clean_phone(self) -> str:
        raw = self.cleaned_data["phone"].strip()
        return normalize_phone(raw) if raw else ""  # raises the "valid phone number" error

    def clean_birthday(self) -> dt.date | None:
        birthday = self.cleaned_data["birthday"]
        today = timezone.localdate()
        if birthday and birthday > today:
            raise forms.ValidationError(_("Your birthday cannot be in the future."))
        if birthday and birthday.year < today.year - OLDEST_AGE_YEARS:
            raise forms.ValidationError(_("Please check the year of your birthday."))
        return birthday

    @classmethod
    def for_member(cls, member: Member, data: Any = None) -> ProfileForm:
        initial = {
            "first_name": member.user.first_name,
            "last_name": member.user.last_name,
            "phone": member.phone,
            "birthday": member.birthday,
            "language": member.language,
            "interests": list(member.interests.all()),
        }
        return cls(data=data, initial=initial)


class ConsentForm(forms.Form):
    email_marketing = forms.BooleanField(label=EMAIL_MARKETING_LABEL, required=False)
    sms_marketing = forms.BooleanField(label=_("Yes, send me offers and news from the club by SMS."), required=False)
    notify_email = forms.BooleanField(label=_("Email me when my points, level or rewards change."), required=False)
    notify_sms = forms.BooleanField(label=_("Send me an SMS when my points, level or rewards change."), required=False)

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member = member

    def clean_notify_sms(self) -> bool:
        wanted = self.cleaned_data["notify_sms"]
        if wanted and not self.member.phone:
            raise forms.ValidationError(_("Add your mobile number to your profile first."))
        return wanted


class EraseForm(forms.Form):
    """Type your email address (or, for a member a shop enrolled by phone who has none yet, your mobile number)
    to confirm."""

    email = forms.EmailField(
        label=_("Type your email address to confirm"), widget=forms.EmailInput(attrs={"autocomplete": "off"})
    )

    def __init__(self, *args: Any, member: Member, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.member = member
        if not member.user.email:
            del self.fields["email"]
            self.fields["phone"] = forms.CharField(
                label=_("Type your mobile number to confirm"),
                max_length=20,
                widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "off"}),
            )

    def clean_email(self) -> str:
        email = email_canonical(self.cleaned_data["email"])
        if email != self.member.user.email:
            raise forms.ValidationError(_("That is not the email address of this account."))
        return email

    def clean_phone(self) -> str:
        try:
            phone = normalize_phone(self.cleaned_data["phone"])
        except forms.ValidationError:
            phone = ""
        if phone != self.member.phone:
            raise forms.ValidationError(_("That is not the mobile number of this account."))
        return phone


class PhoneClaimForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"),
        max_length=20,
        help_text=_("The number you gave the shop, e.g. +47 912 34 567."),
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )

    def clean_phone(self) -> str:
        return normalize_phone(self.cleaned_data["phone"])  # raises the "valid phone number" error


class PhoneCodeForm(forms.Form):
    code = forms.RegexField(
        label=_("Code from the SMS"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the six digits from the SMS.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
    )


# allauth's forms, each looking an address up in its canonical form (``email_canonical``): an address typed
# with capitals, fullwidth letters or invisible characters finds the one account of its mailbox, and mail goes
# to the address as the account has it. Sign-up and adding an address go through ``AccountAdapter.clean_email``.
class LoginForm(allauth_forms.LoginForm):
    def clean_login(self) -> str:
        return email_canonical(super().clean_login())


class CanonicalEmailMixin:
    cleaned_data: dict[str, Any]

    def clean_email(self) -> str:
        self.cleaned_data["email"] = email_canonical(self.cleaned_data.get("email") or "")
        return super().clean_email()  # type: ignore[misc]


class RequestLoginCodeForm(CanonicalEmailMixin, allauth_forms.RequestLoginCodeForm):
    pass


class ResetPasswordForm(CanonicalEmailMixin, allauth_forms.ResetPasswordForm):
    pass


class ChangeEmailForm(CanonicalEmailMixin, allauth_forms.ChangeEmailForm):
    pass
