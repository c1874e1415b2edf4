"""The person (``User``, who logs in by email) and the club membership (``Member``)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members.emails import email_canonical
from members.message_context import ContextDecoder, ContextEncoder
from members.message_kinds import KIND_MAX_LENGTH, message_kind_choices


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=email_canonical(email), **extra)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # People type their email with capitals now and then; a login finds the one mailbox however it is spelled.
        return self.get(email=email_canonical(username or ""))

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Anyone who can log in: members in the portal, staff in the admin. The email is the login.

    A member a shop enrolled by phone alone has no email until they claim the membership in the portal (a code
    by SMS) and add one; until then they sign in with a code by SMS only.
    """

    email = models.EmailField(_("email address"), unique=True, null=True, blank=True)
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    is_staff = models.BooleanField(_("staff status"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    date_joined = models.DateTimeField(_("date joined"), default=timezone.now)

    objects: ClassVar[UserManager] = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="user_email_ci_unique",
                violation_error_message=_("A user with this email address already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.email or gettext("(no email yet)")

    def clean(self) -> None:
        super().clean()
        if self.email:
            self.email = email_canonical(self.email)

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name


e164_validator = RegexValidator(
    r"^\+[1-9]\d{6,14}$", _("Enter the phone number in international format, e.g. +4791234567."), code="invalid_phone"
)


class Interest(models.Model):
    """Something members can say they care about (tennis, golf, running) so that offers can be targeted."""

    name = models.CharField(_("name"), max_length=60, unique=True)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    is_active = models.BooleanField(_("shown to members"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    class Meta:
        verbose_name = _("interest")
        verbose_name_plural = _("interests")
        ordering = ["sort_order", "name"]

    def __str__(self) -> str:
        return str(self.name)


class Member(models.Model):
    """A club membership. Points, tiers and the ledger belong to ``loyalty`` and point here."""

    class Source(models.TextChoices):
        PORTAL = "portal", _("Member portal")
        API = "api", _("Shop API")
        SHOPIFY = "shopify", _("Shopify")
        WOOCOMMERCE = "woocommerce", _("WooCommerce")
        STAFF = "staff", _("Staff")
        IMPORT = "import", _("Import")

    public_id = models.UUIDField(_("member id"), default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="member")
    phone = models.CharField(
        _("phone"),
        max_length=16,
        blank=True,
        default="",
        validators=[e164_validator],
        help_text=_("International format, e.g. +4791234567."),
    )
    language = models.CharField(
        _("preferred language"), max_length=8, choices=settings.LANGUAGES, default=settings.LANGUAGE_CODE
    )
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled"), default=timezone.now, db_index=True)
    source = models.CharField(_("joined through"), max_length=16, choices=Source.choices, default=Source.PORTAL)
    interests = models.ManyToManyField(Interest, blank=True, related_name="members", verbose_name=_("interests"))
    # Current marketing consents, for fast segment queries; changed only by ``consent_set``, in the same
    # transaction as the ``ConsentRecord`` that proves the change.
    email_marketing = models.BooleanField(_("email marketing"), default=False)
    sms_marketing = models.BooleanField(_("SMS marketing"), default=False)
    # Club notifications (points earned, tier changes, expiry warnings, vouchers): not marketing, so no
    # consent is needed, but the member decides the channels.
    notify_email = models.BooleanField(_("club notifications by email"), default=True)
    notify_sms = models.BooleanField(_("club notifications by SMS"), default=False)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=settings.TIME_ZONE,
        help_text=_("No SMS is sent between 21:00 and 09:00 in this time zone."),
    )
    erased_at = models.DateTimeField(_("personal data erased"), null=True, blank=True)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        ordering = ["-enrolled_at"]
        constraints = [
            models.UniqueConstraint(fields=["phone"], condition=~models.Q(phone=""), name="member_phone_unique"),
        ]

    def __str__(self) -> str:
        name = self.user.get_full_name()
        contact = self.user.email or self.phone
        return f"{name} <{contact}>" if name else contact

    @property
    def email(self) -> str:
        return self.user.email

    @property
    def first_name(self) -> str:
        return self.user.first_name


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email marketing")
    SMS = "sms", _("SMS marketing")


class ConsentSource(models.TextChoices):
    PORTAL = "portal", _("Member portal")
    API = "api", _("Shop API")
    STAFF = "staff", _("Staff")
    IMPORT = "import", _("Import")
    ERASURE = "erasure", _("Account deleted")
    UNSUBSCRIBE = "unsubscribe", _("Unsubscribe link")
    SMS_STOP = "sms_stop", _("STOP reply by SMS")


class ConsentRecordQuerySet(models.QuerySet["ConsentRecord"]):
    def update(self, **kwargs: Any) -> int:
        raise TypeError("Consent records are evidence and are never changed.")


class ConsentRecord(models.Model):
    """One change of a marketing consent, kept as proof: who, what, when, where and the wording shown."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(_("channel"), max_length=8, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=16, choices=ConsentSource.choices)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    wording = models.TextField(_("wording shown"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=300, blank=True)
    recorded_by = models.CharField(
        _("recorded by"), max_length=200, blank=True, help_text=_("The staff user or shop that made the change.")
    )

    objects = ConsentRecordQuerySet.as_manager()

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        state = _("granted") if self.granted else _("withdrawn")
        return f"{self.get_channel_display()} {state}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise TypeError("Consent records are evidence and are never changed.")
        super().save(*args, **kwargs)


# --- Messages to members --------------------------------------------------------------------------------
# Written only by ``members.messaging``; see there for who gets what, when and through which channel.
# A message's kind is one the app that sends it registered (``members.message_kinds``).


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")


class MessageTemplate(models.Model):
    """The text of one kind of message in one channel and language, editable by staff.

    Written in Django's template language; each kind has its own variables (the admin lists them).
    """

    kind = models.CharField(_("message"), max_length=KIND_MAX_LENGTH, choices=message_kind_choices)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200, blank=True, help_text=_("Email only."))
    body = models.TextField(_("text"))
    is_active = models.BooleanField(_("send this message"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["kind", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel", "language"], name="message_template_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_channel_display()} · {self.language}"


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Not sent: the member opted out")


class Message(models.Model):
    """One message to one member through one channel: the log staff read, and the queue the sender works.

    ``key`` makes queueing idempotent: the event that caused the message (an order, a tier move, a
    voucher) names it, so a job or task that runs twice queues one message per member and channel.

    Queueing stores the kind's variables (``context``); the worker that sends the message renders ``subject``
    and ``body`` from them and the template active then, and keeps them here: until it is sent, they are empty
    (``members.messaging.message_text`` shows what it would say). Messages queued before that change were
    rendered when queued, have no ``context``, and are sent as they are.
    """

    member = models.ForeignKey(
        Member, null=True, on_delete=models.SET_NULL, related_name="messages", verbose_name=_("member")
    )
    kind = models.CharField(_("message"), max_length=KIND_MAX_LENGTH, choices=message_kind_choices)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    key = models.CharField(_("event key"), max_length=120)
    to = models.CharField(_("to"), max_length=254)
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    # The kind's variables, rendered into subject and body when sent (JSON: members.message_context); None for a
    # message rendered when it was queued (before the worker rendered them) and once the member's data is erased.
    context = models.JSONField(
        _("variables"), null=True, blank=True, editable=False, encoder=ContextEncoder, decoder=ContextDecoder
    )
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED)
    send_after = models.DateTimeField(
        _("send after"), default=timezone.now, help_text=_("Later than queued for SMS in quiet hours and retries.")
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    # The claim of the worker sending it (members.messaging.send): only that worker may send it and record how
    # it went, so a worker whose lease another has taken over does neither.
    claim = models.UUIDField(null=True, blank=True, editable=False)
    provider_id = models.CharField(_("provider's id"), max_length=100, blank=True)
    error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("queued"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("message log")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["member", "kind", "channel", "key"], name="message_once_per_event"),
        ]
        indexes = [
            models.Index(
                fields=["send_after"], condition=models.Q(status__in=["queued", "sending"]), name="message_due_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.to}"


# --- Audit trail of staff changes --------------------------------------------------------------------------
# Written only by ``members.audit.audit_record``; never changed or deleted (the model, the admin and, on
# PostgreSQL, a trigger refuse it).


class AuditImmutableError(Exception):
    """Audit entries are evidence: they are never changed or deleted."""


class AuditEntryQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditImmutableError("Audit entries cannot be changed.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Audit entries cannot be deleted.")


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    CHANGE = "change", _("Changed")
    DELETE = "delete", _("Deleted")
    ADJUST = "adjust", _("Points adjusted")
    REVOKE = "revoke", _("Revoked")
    OTHER = "other", _("Other")


class AuditEntry(models.Model):
    """Who changed what, when, with the values before and after."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("staff")
    )
    action = models.CharField(_("action"), max_length=10, choices=AuditAction.choices)
    model = models.CharField(_("model"), max_length=100, db_index=True)
    object_id = models.CharField(_("object id"), max_length=64)
    object_repr = models.CharField(_("object"), max_length=200)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]
        default_permissions = ("view",)
        indexes = [models.Index(fields=["model", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.object_repr}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditImmutableError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditImmutableError("Audit entries cannot be deleted.")


class PhoneCode(models.Model):
    """A one-time code sent by SMS to sign a phone-only member in (to claim the membership a shop made).

    Only a hash of the code is kept; a code expires after minutes and after a few wrong tries.
    """

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="phone_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("SMS sign-in code")
        verbose_name_plural = _("SMS sign-in codes")
        indexes = [models.Index(fields=["member", "-created_at"], name="phonecode_member_idx")]

    def __str__(self) -> str:
        return f"{self.member_id} @ {self.created_at:%Y-%m-%d %H:%M}"
