"""Reads about people and memberships."""

from __future__ import annotations

import uuid

from django.db.models import Q, QuerySet
from django.utils.text import smart_split, unescape_string_literal

from members.emails import email_canonical
from members.models import Member, Message, User


def member_by_email(*, email: str) -> Member | None:
    return Member.objects.select_related("user").filter(user__email=email_canonical(email)).first()


def member_by_phone(*, phone: str) -> Member | None:
    return Member.objects.select_related("user").filter(phone=phone).first() if phone else None


def members_matching(members: QuerySet[Member], *, terms: str) -> QuerySet[Member]:
    """``members`` whose email, first or last name or phone holds every word of ``terms`` (any case), or whose
    member id is a word: the admin's member search.

    Each word is one ``id IN (... UNION ...)`` of single-table matches rather than one ``OR`` across the user and
    member tables, so that PostgreSQL answers every branch from its trigram index (migration 0015) instead of
    scanning a million rows per search.
    """
    for word in smart_split(terms):
        if word[:1] in "\"'" and word[-1:] == word[:1]:
            word = unescape_string_literal(word)
        people = User.objects.filter(
            Q(email__icontains=word) | Q(first_name__icontains=word) | Q(last_name__icontains=word)
        ).values("pk")
        matching = Member.objects.filter(user__in=people).order_by().values("pk")
        matching = matching.union(Member.objects.filter(phone__icontains=word).order_by().values("pk"))
        if (public_id := _uuid(word)) is not None:
            matching = matching.union(Member.objects.filter(public_id=public_id).order_by().values("pk"))
        members = members.filter(pk__in=matching)
    return members


def _uuid(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


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
