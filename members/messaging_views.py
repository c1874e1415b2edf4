"""The ways out of messages, reached without logging in: the unsubscribe link and the SMS provider's callback."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from config.proxies import client_ip
from members.messaging import unsubscribe_read
from members.services import sms_inbound, unsubscribe_apply


@csrf_exempt  # the signed token is the credential; mail clients' one-click unsubscribe (RFC 8058) POSTs here
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (link scanners must not unsubscribe anyone); POST stops the emails."""
    unsubscription = unsubscribe_read(token=token)
    if unsubscription is None:
        return render(request, "members/unsubscribe.html", {"invalid": True}, status=404)
    done = request.method == "POST"
    if done:
        unsubscribe_apply(
            unsubscription=unsubscription,
            ip_address=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )
    return render(request, "members/unsubscribe.html", {"what": unsubscription.what, "done": done})


@csrf_exempt  # called by the SMS provider; authenticated by the secret in the URL
@require_POST
def sms_callback(request: HttpRequest, token: str) -> HttpResponse:
    """46elks posts each SMS sent to the club's number here (form fields ``from`` and ``message``).

    The text of the answer is sent back to the member as a reply SMS; an empty answer sends none.
    """
    expected = settings.SMS_INBOUND_TOKEN
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Http404
    reply = sms_inbound(sender=request.POST.get("from", ""), text=request.POST.get("message", ""))
    return HttpResponse(reply, content_type="text/plain; charset=utf-8")
