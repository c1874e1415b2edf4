"""The way out of emails: a signed link that stops offers or notifications without logging in.

SMS carry "reply STOP" instead (the provider's callback, ``members.services.sms_inbound``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

from django.conf import settings
from django.core import signing
from django.urls import reverse

from members.message_kinds import message_kind_is_marketing
from members.models import Member

UNSUBSCRIBE_SALT = "klubb.members.unsubscribe"


def unsubscribe_url(*, member: Member, kind: str) -> str:
    """An absolute link that stops this sort of email (marketing or notifications) without logging in."""
    # No timestamp in the token (the link does not expire): the same member and kind always give the same
    # link, so the body's link and the List-Unsubscribe header (made at sending) are one.
    token = signing.Signer(salt=UNSUBSCRIBE_SALT).sign_object(
        {"m": str(member.public_id), "what": "marketing" if message_kind_is_marketing(kind) else "notify"},
        compress=True,
    )
    return urljoin(settings.KLUBB_PORTAL_URL, reverse("unsubscribe", args=[token]))


@dataclass(frozen=True)
class Unsubscription:
    member: Member
    what: str  # "marketing" or "notify"


def unsubscribe_read(*, token: str) -> Unsubscription | None:
    """The member and what the link stops, or ``None`` for a forged or broken link."""
    try:
        data = signing.Signer(salt=UNSUBSCRIBE_SALT).unsign_object(token)
    except signing.BadSignature:
        return None
    member = Member.objects.select_related("user").filter(public_id=data.get("m")).first()
    if member is None or data.get("what") not in {"marketing", "notify"}:
        return None
    return Unsubscription(member=member, what=data["what"])
