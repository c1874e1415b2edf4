"""Reads about people and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from members.emails import email_canonical
from members.models import Member, Message, User


def member_by_email(*, email: str) -> Member | None:
    return Member.objects.select_related("user").filter(user__email=email_canonical(email)).first()


def member_by_phone(*, phone: str) -> Member | None:
    return Member.objects.select_related("user").filter(phone=phone).first() if phone else None


def member_messages(*, member: Member) -> QuerySet[Message]:
    """The messages sent (or queued) to the member, newest first."""
    return Message.objects.filter(member=member).order_by("-created_at", "-id")


def email_collisions() -> list[list[User]]:
    """Accounts whose addresses are one mailbox (the same ``email_canonical`` form), each group oldest first,
    with their memberships (``user.member``, where there is one): accounts made before Klubb compared
    canonical forms, for staff to settle."""
    by_canonical: dict[str, list[int]] = {}
    addresses = User.objects.exclude(email=None).values_list("pk", "email").order_by("pk")
    for pk, email in addresses.iterator(chunk_size=10_000):
        by_canonical.setdefault(email_canonical(email), []).append(pk)
    groups = [pks for pks in by_canonical.values() if len(pks) > 1]
    users = User.objects.select_related("member").in_bulk([pk for pks in groups for pk in pks])
    return [[users[pk] for pk in pks] for pks in groups]
