"""The member's own pages: profile and preferences, consents, privacy, and the language switch.

No URL here carries a member id: every page works on the logged-in member only.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from config.proxies import client_ip
from members.auth import remember_language
from members.decorators import member_required
from members.forms import ConsentForm, EraseForm, PhoneClaimForm, PhoneCodeForm, ProfileForm
from members.models import ConsentChannel, ConsentSource, Member
from members.services import (
    PHONE_CODE_MINUTES,
    ErasureRefused,
    PhoneCodeRefused,
    PhoneInUse,
    consent_set,
    member_data_export,
    member_erase,
    member_language_set,
    member_notifications_set,
    member_profile_update,
    phone_code_send,
    phone_code_verify,
)


@member_required
def profile(request: HttpRequest, member: Member) -> HttpResponse:
    form = ProfileForm.for_member(member, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            member_profile_update(member=member, **form.cleaned_data)
        except PhoneInUse:
            form.add_error("phone", _("Another member already uses this mobile number."))
        else:
            translation.activate(member.language)
            messages.success(request, _("Your profile is saved."))
            response = redirect("portal:profile")
            remember_language(response, member.language)
            return response
    return render(request, "members/profile.html", {"member": member, "form": form})


@member_required
def consents(request: HttpRequest, member: Member) -> HttpResponse:
    form = ConsentForm(
        data=request.POST if request.method == "POST" else None,
        member=member,
        initial={
            "email_marketing": member.email_marketing,
            "sms_marketing": member.sms_marketing,
            "notify_email": member.notify_email,
            "notify_sms": member.notify_sms,
        },
    )
    if request.method == "POST" and form.is_valid():
        changed = False
        for channel, field in ((ConsentChannel.EMAIL, "email_marketing"), (ConsentChannel.SMS, "sms_marketing")):
            record = consent_set(
                member=member,
                channel=channel,
                granted=form.cleaned_data[field],
                source=ConsentSource.PORTAL,
                wording=str(form.fields[field].label),
                ip_address=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
            changed = changed or record is not None
        notifications = member_notifications_set(
            member=member, email=form.cleaned_data["notify_email"], sms=form.cleaned_data["notify_sms"]
        )
        changed = changed or notifications
        messages.success(request, _("Your choices are saved.") if changed else _("Nothing was changed."))
        return redirect("portal:consents")
    history = member.consent_records.all()[:20]
    return render(request, "members/consents.html", {"member": member, "form": form, "history": history})


@member_required
def privacy(request: HttpRequest, member: Member) -> HttpResponse:
    form = EraseForm(member=member)
    return render(request, "members/privacy.html", {"member": member, "form": form})


@member_required
def privacy_export(request: HttpRequest, member: Member) -> HttpResponse:
    data = member_data_export(member=member)
    response = HttpResponse(
        json.dumps(data, indent=2, ensure_ascii=False, default=str), content_type="application/json; charset=utf-8"
    )
    filename = f"klubb-my-data-{timezone.localdate().isoformat()}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@member_required
@require_POST
def privacy_erase(request: HttpRequest, member: Member) -> HttpResponse:
    form = EraseForm(request.POST, member=member)
    if not form.is_valid():
        return render(request, "members/privacy.html", {"member": member, "form": form}, status=400)
    try:
        member_erase(member=member, source=ConsentSource.ERASURE)
    except ErasureRefused:
        messages.error(request, _("Staff accounts cannot be deleted here. Ask another administrator."))
        return redirect("portal:privacy")
    logout(request)
    return redirect("portal:goodbye")


def goodbye(request: HttpRequest) -> HttpResponse:
    return render(request, "members/goodbye.html")


def language(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language``, which also remembers the choice on the member for their next visit."""
    response = set_language(request)
    chosen = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated:
        member = Member.objects.filter(user=request.user).first()
        if member is not None:
            member_language_set(member=member, language=chosen)
    return response


CLAIM_PHONE_SESSION_KEY = "klubb_claim_phone"


def claim(request: HttpRequest) -> HttpResponse:
    """A shop enrolled you with only your phone number: get a code by SMS to sign in and claim your points.

    The answer is the same whether the number belongs to such a member or not, so the page tells nobody who
    is a member."""
    form = PhoneClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        phone = form.cleaned_data["phone"]
        try:
            phone_code_send(phone=phone)
        except PhoneCodeRefused as refused:
            form.add_error("phone", str(refused))
        else:
            request.session[CLAIM_PHONE_SESSION_KEY] = phone
            return redirect("portal:claim_code")
    return render(request, "members/claim.html", {"form": form})


def claim_code(request: HttpRequest) -> HttpResponse:
    """The code from the SMS signs the member in; they are asked to add an email address next."""
    phone = request.session.get(CLAIM_PHONE_SESSION_KEY)
    if not phone:
        return redirect("portal:claim")
    form = PhoneCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = phone_code_verify(phone=phone, code=form.cleaned_data["code"])
        except PhoneCodeRefused as refused:
            form.add_error("code", str(refused))
        else:
            request.session.pop(CLAIM_PHONE_SESSION_KEY, None)
            login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(
                request, _("Welcome! Add your email address, so that you can sign in with it and get our emails.")
            )
            return redirect("account_email")
    context = {"form": form, "phone": phone, "minutes": PHONE_CODE_MINUTES}
    return render(request, "members/claim_code.html", context)


# --- The club's privacy policy and terms, when it has no pages of its own (KLUBB_PRIVACY_URL, KLUBB_TERMS_URL) ---


def privacy_policy(request: HttpRequest) -> HttpResponse:
    return render(request, "members/privacy_policy.html", {"club": settings.KLUBB_CLUB_NAME})


def terms(request: HttpRequest) -> HttpResponse:
    return render(request, "members/terms.html", {"club": settings.KLUBB_CLUB_NAME})
