"""Writes about people and memberships. Points live in ``loyalty``; this module knows nothing of them."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from config.bulk import many_values, rows_insert
from members import messaging, privacy, signals
from members.emails import email_canonical
from members.models import (
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Interest,
    Member,
    Message,
    MessageChannel,
    MessageStatus,
    PhoneCode,
    User,
)
from members.sms import sms_backend


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
    email = email_canonical(email)
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
            # An unverified address for allauth: the member claims the account with a sign-in code or a
            # password reset sent to it, which verifies it.
            EmailAddress.objects.get_or_create(user=user, email=email, defaults={"primary": True, "verified": False})
            member = Member.objects.create(
                user=user,
                phone=phone,
                language=language or Member._meta.get_field("language").default,
                birthday=birthday,
                source=source,
            )
            _welcome_queue(member)
            signals.member_joined.send(sender=Member, member=member)
    except IntegrityError:
        member = Member.objects.select_related("user").filter(user__email=email).first()
        if member is None:
            raise
        return member, False
    return member, True


def member_enrol_by_phone(
    *, phone: str, first_name: str = "", last_name: str = "", source: str = Member.Source.PORTAL
) -> tuple[Member, bool]:
    """Return the member with this phone (E.164), enrolling one without an email if there is none: a shop's
    customer who gave only a phone. They claim the membership in the portal with a code by SMS
    (``phone_code_send``), then add an email. Safe under concurrency like ``member_enrol``."""
    existing = Member.objects.select_related("user").filter(phone=phone).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            user = User(email=None, first_name=first_name, last_name=last_name)
            user.set_unusable_password()
            user.save()
            member = Member.objects.create(user=user, phone=phone, source=source, notify_sms=True)
            _welcome_queue(member)
            signals.member_joined.send(sender=Member, member=member)
    except IntegrityError:
        member = Member.objects.select_related("user").filter(phone=phone).first()
        if member is None:
            raise
        return member, False
    return member, True


class PhoneCodeRefused(Exception):
    """A sign-in code by SMS was refused; ``code`` says why (stable), the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        super().__init__(message)


PHONE_CODE_MINUTES = 10
PHONE_CODE_TRIES = 5
PHONE_CODES_PER_HOUR = 3


def _code_hash(member: Member, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{member.pk}:{code}".encode(), hashlib.sha256).hexdigest()


def phone_code_send(*, phone: str) -> bool:
    """Text a six-digit sign-in code to the phone-only member with this number (E.164); ``False`` when there is
    none (the page answers the same either way, so it does not tell who is a member). At most
    ``PHONE_CODES_PER_HOUR`` codes an hour per member; raises ``PhoneCodeRefused("too_many_codes")`` above."""
    member = Member.objects.select_related("user").filter(phone=phone, user__email__isnull=True).first()
    if member is None or not member.user.is_active:
        return False
    now = timezone.now()
    with transaction.atomic():
        Member.objects.select_for_update().filter(pk=member.pk).first()  # one sender at a time per member
        recent = PhoneCode.objects.filter(member=member, created_at__gt=now - dt.timedelta(hours=1)).count()
        if recent >= PHONE_CODES_PER_HOUR:
            raise PhoneCodeRefused("too_many_codes", _("Too many codes were sent to this number; try again later."))
        code = f"{secrets.randbelow(1_000_000):06d}"
        PhoneCode.objects.create(
            member=member, code_hash=_code_hash(member, code), created_at=now,
            expires_at=now + dt.timedelta(minutes=PHONE_CODE_MINUTES),
        )  # fmt: skip
    with translation.override(member.language):
        body = _("Your %(club)s code: %(code)s. It is valid for %(minutes)s minutes.") % {
            "club": settings.KLUBB_CLUB_NAME, "code": code, "minutes": PHONE_CODE_MINUTES,
        }  # fmt: skip
    sms_backend().send(to=member.phone, body=body)
    return True


def phone_code_verify(*, phone: str, code: str) -> Member:
    """The phone-only member whose newest unexpired code is ``code``; the code is used up. Raises
    ``PhoneCodeRefused``: ``invalid_code`` (wrong, unknown, expired or used up; each wrong try counts, and
    after ``PHONE_CODE_TRIES`` the code is dead)."""
    refused = PhoneCodeRefused("invalid_code", _("That code is wrong or has expired. Ask for a new one."))
    member = Member.objects.select_related("user").filter(phone=phone, user__email__isnull=True).first()
    if member is None:
        raise refused
    now = timezone.now()
    with transaction.atomic():
        latest = (
            PhoneCode.objects.select_for_update()
            .filter(member=member, used_at__isnull=True, expires_at__gt=now, attempts__lt=PHONE_CODE_TRIES)
            .order_by("-created_at")
            .first()
        )
        if latest is None:
            raise refused
        right = hmac.compare_digest(latest.code_hash, _code_hash(member, code.strip()))
        if right:
            latest.used_at = now
        else:
            latest.attempts += 1  # kept: the refusal is raised after this transaction commits
        latest.save(update_fields=["used_at", "attempts"])
    if not right:
        raise refused
    return member


class MemberKey(NamedTuple):
    """A member as a bulk path needs them: the row's id and the id the API shows (no model per member)."""

    pk: int
    public_id: uuid.UUID


def members_enrol_many(
    *, people: Mapping[str, tuple[str, str]], source: str, phones: Mapping[str, str] | None = None
) -> tuple[dict[str, MemberKey], int]:
    """The members with these (normalised) emails, enrolling the ones the club does not know, in a few bulk
    queries: ``people`` maps email to (first name, last name), ``phones`` email to a phone (E.164) a new member
    gets (the caller checked no member has it). For history brought in bulk (an order import, opening
    balances): the new members get no welcome message and no sign-up points, and claim their account with a
    sign-in code (an unverified address, as ``member_enrol`` gives). Returns email -> member (as rows: an import
    looks up hundreds of thousands), and how many were new."""
    found = {
        email: MemberKey(pk, public_id)
        for email, pk, public_id in Member.objects.filter(
            user__email__in=many_values(people, sql_type="text"), erased_at__isnull=True
        ).values_list("user__email", "pk", "public_id")
    }
    missing = sorted(people.keys() - found.keys())
    if not missing:
        return found, 0
    # Users, addresses and members as rows, sent by COPY.
    user_ids = rows_insert(User, [
        {"email": email, "first_name": people[email][0], "last_name": people[email][1], "password": "!"}
        for email in missing
    ])  # fmt: skip
    rows_insert(EmailAddress, [{"user_id": user_id, "email": email, "primary": True, "verified": False}
                               for user_id, email in zip(user_ids, missing, strict=True)])  # fmt: skip
    phones = phones or {}
    public_ids = [uuid.uuid4() for _email in missing]
    member_ids = rows_insert(Member, [
        {"user_id": user_id, "source": source, "phone": phones.get(email, ""), "public_id": public_id}
        for user_id, email, public_id in zip(user_ids, missing, public_ids, strict=True)
    ])  # fmt: skip
    found.update(
        (email, MemberKey(pk, public_id)) for email, pk, public_id in zip(missing, member_ids, public_ids, strict=True)
    )
    return found, len(missing)


def member_join(*, user: User, language: str = "", source: str = Member.Source.PORTAL, welcome: bool = True) -> Member:
    """Make a newly signed-up user a club member (idempotent: an existing membership is returned as is).

    ``welcome=False`` when the address is still to be confirmed: the welcome waits for ``member_welcome``, so the
    first thing the club sends is not a welcome to an address that may not be the member's.
    """
    languages = {code for code, _name in settings.LANGUAGES}
    language = language if language in languages else settings.LANGUAGE_CODE
    with transaction.atomic():
        member, created = Member.objects.get_or_create(user=user, defaults={"language": language, "source": source})
        if created:
            if welcome:
                _welcome_queue(member)
            signals.member_joined.send(sender=Member, member=member)
    return member


def member_welcome(*, member: Member) -> bool:
    """Welcome a member whose address was just confirmed; at most once per member and channel, however often it
    is confirmed (the message's key is the member's). Returns whether a welcome was queued now."""
    if member.erased_at is not None or not member.user.is_active:
        return False
    with transaction.atomic():
        before = Message.objects.filter(member=member, kind=messaging.MemberMessage.WELCOME).count()
        _welcome_queue(member)
        return Message.objects.filter(member=member, kind=messaging.MemberMessage.WELCOME).count() > before


# --- Profile, preferences and consents ---------------------------------------------------------------


def member_profile_update(
    *,
    member: Member,
    first_name: str,
    last_name: str,
    phone: str,
    birthday: dt.date | None,
    language: str,
    interests: Iterable[Interest],
) -> Member:
    """Change what the member may change about themselves. The form has validated; the database has the
    last word on the phone (unique), so two members saving one number at once get ``PhoneInUse``."""
    if phone and Member.objects.filter(phone=phone).exclude(pk=member.pk).exists():
        raise PhoneInUse(phone)
    try:
        with transaction.atomic():
            user = member.user
            user.first_name, user.last_name = first_name, last_name
            user.save(update_fields=["first_name", "last_name"])
            member.phone, member.birthday, member.language = phone, birthday, language
            member.save(update_fields=["phone", "birthday", "language"])
            member.interests.set(interests)
            signals.profile_saved.send(sender=Member, member=member)
    except IntegrityError as exc:
        raise PhoneInUse(phone) from exc
    return member


def member_language_set(*, member: Member, language: str) -> None:
    if language in {code for code, _name in settings.LANGUAGES} and member.language != language:
        Member.objects.filter(pk=member.pk).update(language=language)
        member.language = language


def consent_set(
    *,
    member: Member,
    channel: str,
    granted: bool,
    source: str,
    wording: str = "",
    ip_address: str | None = None,
    user_agent: str = "",
    recorded_by: str = "",
) -> ConsentRecord | None:
    """Grant or withdraw a marketing consent and record the proof; ``None`` when nothing changed.

    The member row is locked so two changes at once are recorded in the order they took effect.
    """
    field = {ConsentChannel.EMAIL: "email_marketing", ConsentChannel.SMS: "sms_marketing"}[ConsentChannel(channel)]
    with transaction.atomic():
        locked = Member.objects.select_for_update().get(pk=member.pk)
        if getattr(locked, field) == granted:
            return None
        Member.objects.filter(pk=member.pk).update(**{field: granted})
        setattr(member, field, granted)
        return ConsentRecord.objects.create(
            member=locked,
            channel=channel,
            granted=granted,
            source=source,
            wording=wording,
            ip_address=ip_address,
            user_agent=user_agent[:300],
            recorded_by=recorded_by[:200],
        )


def member_notifications_set(*, member: Member, email: bool, sms: bool) -> bool:
    """Turn the club's notifications (points, level, rewards, expiry) on or off per channel; ``True`` if
    anything changed. Switching a channel off cancels what still waits to be sent on it."""
    changes = {
        field: wanted
        for field, wanted in (("notify_email", email), ("notify_sms", sms))
        if getattr(member, field) != wanted
    }
    if not changes:
        return False
    with transaction.atomic():
        Member.objects.filter(pk=member.pk).update(**changes)
        for field, wanted in changes.items():
            setattr(member, field, wanted)
        off = [channel for channel, field in _NOTIFY_FIELDS.items() if field in changes and not changes[field]]
        if off:
            Message.objects.filter(member=member, channel__in=off, status=MessageStatus.QUEUED).exclude(
                kind__in=messaging.marketing_kinds()
            ).update(status=MessageStatus.CANCELLED, error="The member turned these messages off.")
    return True


_NOTIFY_FIELDS = {MessageChannel.EMAIL: "notify_email", MessageChannel.SMS: "notify_sms"}


# --- Messages: the welcome, and the ways out of messages ----------------------------------------------------


def _welcome_queue(member: Member) -> None:
    messaging.messages_queue(
        kind=messaging.MemberMessage.WELCOME,
        items=[messaging.Outgoing(member_id=member.pk, key=str(member.pk))],
        members=[member],
    )


def unsubscribe_apply(
    *, unsubscription: messaging.Unsubscription, ip_address: str | None = None, user_agent: str = ""
) -> None:
    """Stop email offers (withdrawing the consent, with a record of it) or email notifications."""
    member = unsubscription.member
    if unsubscription.what == "marketing":
        consent_set(
            member=member,
            channel=ConsentChannel.EMAIL,
            granted=False,
            source=ConsentSource.UNSUBSCRIBE,
            ip_address=ip_address,
            user_agent=user_agent,
        )
    else:
        Member.objects.filter(pk=member.pk).update(notify_email=False)
        member.notify_email = False


STOP_WORDS = frozenset({"STOP", "STOPP", "AVMELD", "AFMELD", "AVSLUTA", "AVBRYT", "UNSUBSCRIBE"})


def sms_inbound(*, sender: str, text: str) -> str:
    """An SMS a member sent to the club's number (the provider's callback). "STOP" (and the Nordic words
    for it) stops every SMS to that number: marketing consent withdrawn, notifications off, queued SMS
    cancelled. Returns the reply to send back, or "" for none."""
    if text.strip().upper().rstrip(".!") not in STOP_WORDS:
        return ""
    member = Member.objects.filter(phone=sender, erased_at__isnull=True).first()
    if member is None:
        return ""
    with transaction.atomic():
        consent_set(member=member, channel=ConsentChannel.SMS, granted=False, source=ConsentSource.SMS_STOP)
        Member.objects.filter(pk=member.pk).update(notify_sms=False)
        Message.objects.filter(member=member, channel=MessageChannel.SMS, status=MessageStatus.QUEUED).update(
            status=MessageStatus.CANCELLED, error="The member replied STOP."
        )
    with translation.override(member.language):
        return _("You will get no more SMS from %(club)s.") % {"club": settings.KLUBB_CLUB_NAME}


# --- Privacy ------------------------------------------------------------------------------------------


class ErasureRefused(Exception):
    """Staff and superuser accounts are not deleted from the portal: their actions are part of the audit trail."""


def member_data_export(*, member: Member) -> dict[str, Any]:
    """Everything the club holds about the member, as JSON-ready data (apps add their parts)."""
    user = member.user
    data: dict[str, Any] = {
        "exported_at": timezone.now().isoformat(),
        "member": {
            "member_id": str(member.public_id),
            "email": user.email,
            "first_name": user.first_name,
            "last_name": user.last_name,
            "phone": member.phone,
            "birthday": member.birthday.isoformat() if member.birthday else None,
            "language": member.language,
            "enrolled_at": member.enrolled_at.isoformat(),
            "joined_through": member.source,
            "interests": [interest.name for interest in member.interests.all()],
            "email_marketing": member.email_marketing,
            "sms_marketing": member.sms_marketing,
        },
        "consent_history": [
            {
                "channel": record.channel,
                "granted": record.granted,
                "source": record.source,
                "at": record.at.isoformat(),
                "wording": record.wording,
                "ip_address": record.ip_address,
                "user_agent": record.user_agent,
            }
            for record in member.consent_records.order_by("at", "id")
        ],
    }
    for name, exporter in privacy.exporters().items():
        data[name] = exporter(member)
    return data


def member_erase(*, member: Member, source: str) -> Member:
    """Delete the member's account: wipe personal data, keep the anonymised ledger so the totals stay true.

    The member row stays (the ledger points at it) with a placeholder address; the user can never log in
    again; sign-in addresses, Vipps links, authenticators and sessions go. Consent records are evidence
    of lawful marketing only while the person exists: they go too, and one record says consent ended.
    """
    if member.user.is_staff or member.user.is_superuser:
        raise ErasureRefused()
    with transaction.atomic():
        member = Member.objects.select_for_update().select_related("user").get(pk=member.pk)
        if member.erased_at is not None:
            return member
        user = member.user
        for eraser in privacy.erasers().values():
            eraser(member)
        EmailAddress.objects.filter(user=user).delete()
        SocialAccount.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()
        _sessions_end(user_id=user.pk)
        user.email = f"erased-{member.public_id}@erased.invalid"
        user.first_name = user.last_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save()
        member.interests.clear()
        member.consent_records.all().delete()
        member.phone, member.birthday = "", None
        member.email_marketing = member.sms_marketing = False
        member.erased_at = timezone.now()
        member.save()
        ConsentRecord.objects.create(member=member, channel=ConsentChannel.EMAIL, granted=False, source=source)
        ConsentRecord.objects.create(member=member, channel=ConsentChannel.SMS, granted=False, source=source)
    return member


def _sessions_end(*, user_id: int) -> None:
    """Log the user out everywhere (database sessions; signed-cookie sessions are not used)."""
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()
