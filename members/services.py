"""Writes about people and memberships. Points live in ``loyalty``; this module knows nothing of them."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from members.models import Member, User, normalize_email


class PhoneInUse(Exception):
    """Another member already has this phone number."""


def member_enrol(
    *,
    email: str,
    first_name: str = "",
    last_name: str = "",
    phone: str = "",
    language: str = "",
    birthday: dt.date | None = None,
    source: str = Member.Source.PORTAL,
) -> tuple[Member, bool]:
    """Return the member with this email, creating the user and the membership if there is none.

    An existing member's data is left as it is: enrolment is not a way to overwrite a profile.
    Safe under concurrency: two enrolments of one email race on the unique constraint, and the
    loser returns the winner's member.
    """
    email = normalize_email(email)
    existing = Member.objects.select_related("user").filter(user__email=email).first()
    if existing is not None:
        return existing, False
    if phone and Member.objects.filter(phone=phone).exists():
        raise PhoneInUse(phone)
    try:
        with transaction.atomic():
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email=email, first_name=first_name, last_name=last_name)
            member = Member.objects.create(
                user=user,
                phone=phone,
                language=language or Member._meta.get_field("language").default,
                birthday=birthday,
                source=source,
            )
    except IntegrityError:
        member = Member.objects.select_related("user").filter(user__email=email).first()
        if member is None:
            raise
        return member, False
    return member, True
