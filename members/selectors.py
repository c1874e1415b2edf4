"""Reads about people and memberships."""

from __future__ import annotations

from members.models import Member, normalize_email


def member_by_email(*, email: str) -> Member | None:
    return Member.objects.select_related("user").filter(user__email=normalize_email(email)).first()


def member_by_phone(*, phone: str) -> Member | None:
    return Member.objects.select_related("user").filter(phone=phone).first() if phone else None
