"""Users, interests and members in the admin, and what other apps add to the member admin."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from members.admin.audit import AuditedAdminMixin
from members.admin_site import LargeTableAdminMixin
from members.audit import audit_record
from members.messaging import (
    message_text,
)
from members.models import (
    AuditAction,
    ConsentChannel,
    ConsentRecord,
    ConsentSource,
    Interest,
    Member,
    User,
)
from members.selectors import member_messages, members_matching
from members.services import ErasureRefused, consent_set, member_erase


class UserCreationForm(AdminUserCreationForm):
    """The admin's add form: an email address (the login) and, optionally, a password."""

    class Meta:
        model = User
        fields = ("email",)


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = (
            "email",
            "password",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "groups",
            "user_permissions",
        )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name")}),
        (
            _("Permissions"),
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "usable_password", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")
    list_display = ("email", "first_name", "last_name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_active", "is_superuser")
    search_fields = ("email", "first_name", "last_name")
    ordering = ("email",)


@admin.register(Interest)
class InterestAdmin(AuditedAdminMixin, TranslationAdmin):
    list_display = ("name", "slug", "is_active", "sort_order")
    list_editable = ("is_active", "sort_order")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


class ConsentRecordInline(admin.TabularInline):
    """The proof of each consent change; read-only (records are evidence, changed only by ``consent_set``)."""

    model = ConsentRecord
    fields = ("at", "channel", "granted", "source", "recorded_by", "ip_address", "wording")
    readonly_fields = fields
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ("-at", "-id")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _consent_action(channel: str, granted: bool, description: str) -> Any:
    @admin.action(description=description, permissions=["change"])
    def action(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Member]) -> None:
        changed = 0
        for member in queryset.filter(erased_at__isnull=True):
            record = consent_set(
                member=member,
                channel=channel,
                granted=granted,
                source=ConsentSource.STAFF,
                wording=str(description),
                recorded_by=f"staff:{request.user.get_username()}",
            )
            changed += record is not None
            if record is not None:
                audit_record(
                    staff=request.user,
                    action=AuditAction.CHANGE,
                    obj=member,
                    before={f"{channel}_marketing": not granted},
                    after={f"{channel}_marketing": granted},
                    note=str(description),
                )
        modeladmin.message_user(request, _("%(count)d member(s) changed; the change is recorded.") % {"count": changed})

    action.__name__ = f"consent_{channel}_{'grant' if granted else 'withdraw'}"
    return action


# --- What other apps add to the member admin ---------------------------------------------------------------


@dataclass(frozen=True)
class MemberAdminExtension:
    """What an app adds to the member admin. Every part is optional.

    - ``list_display``: columns (names of member fields, or callables taking the member, decorated with
      ``@admin.display``), inserted after the column named ``list_display_after`` (or at the end);
      ``list_display_hide`` names columns of the member admin they take the place of.
    - ``list_filter``: filters after the member admin's own.
    - ``readonly_fields``: computed fields (callables taking the member) that ``fieldsets`` show.
    - ``fieldsets``: shown on the change page of an existing member, inserted at index ``fieldsets_at``
      (or at the end).
    - ``inlines``: inline admins after the member admin's own.
    - ``queryset``: ``(request, queryset) -> queryset`` for the list and the change page (``select_related``
      what the columns read, so a page makes a fixed number of queries).
    - ``urls``: ``(member_admin) -> [path(...)]``, pages under the member admin's URLs (matched before its own).
    - ``change_view_context``: ``(member_admin, request, object_id) -> dict``, extra context of the change page.
    - ``change_form_template``: the change form template (it should extend ``admin/change_form.html``);
      one extension at most may set it.
    """

    list_display: tuple[str | Callable[[Member], Any], ...] = ()
    list_display_after: str | None = None
    list_display_hide: tuple[str, ...] = ()
    list_filter: tuple[Any, ...] = ()
    readonly_fields: tuple[str | Callable[[Member], Any], ...] = ()
    fieldsets: tuple[tuple[Any, dict[str, Any]], ...] = ()
    fieldsets_at: int | None = None
    inlines: tuple[type[InlineModelAdmin], ...] = ()
    queryset: Callable[[HttpRequest, QuerySet[Member]], QuerySet[Member]] | None = None
    urls: Callable[[MemberAdmin], list[URLPattern]] | None = None
    change_view_context: Callable[[MemberAdmin, HttpRequest, str], dict[str, Any]] | None = None
    change_form_template: str | None = None


_extensions: list[MemberAdminExtension] = []
RECENT_MESSAGES = 10
MESSAGES_TEMPLATE = "admin/members/member/messages_sent.html"


def member_admin_extend(extension: MemberAdminExtension) -> None:
    """Add ``extension`` to the member admin; call it once, when the extending app's admin module is imported."""
    if extension.change_form_template and any(other.change_form_template for other in _extensions):
        raise ImproperlyConfigured("Only one extension of the member admin may set its change form template.")
    _extensions.append(extension)


@admin.register(Member)
class MemberAdmin(LargeTableAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    list_display = ("email", "name", "phone", "language", "source", "enrolled_at")
    list_select_related = ("user",)
    list_filter = ("language", "source", "enrolled_at")
    search_fields = ("user__email", "user__first_name", "user__last_name", "phone", "public_id")
    autocomplete_fields = ("user",)
    readonly_fields: tuple[str, ...] = ("public_id",)
    fieldsets: Any = (
        (None, {"fields": ("public_id", "user", "phone", "language", "birthday", "interests")}),
        (_("Marketing consents"), {"fields": ("email_marketing", "sms_marketing")}),
        (_("Club notifications"), {"fields": ("notify_email", "notify_sms", "time_zone")}),
        (_("Membership"), {"fields": ("source", "enrolled_at", "erased_at")}),
    )
    filter_horizontal = ("interests",)
    inlines = (ConsentRecordInline,)
    actions = (
        _consent_action(ConsentChannel.EMAIL, True, _("Record consent to email marketing (given to staff)")),
        _consent_action(ConsentChannel.EMAIL, False, _("Record withdrawal of email marketing consent")),
        _consent_action(ConsentChannel.SMS, True, _("Record consent to SMS marketing (given to staff)")),
        _consent_action(ConsentChannel.SMS, False, _("Record withdrawal of SMS marketing consent")),
        "erase_personal_data",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Member | None = None) -> Any:
        # Consents change only through the actions above, which record proof; erasure only through its action;
        # how and when someone joined are facts of the enrolment.
        extended = (field for extension in _extensions for field in extension.readonly_fields)
        return (
            *self.readonly_fields,
            *extended,
            "email_marketing",
            "sms_marketing",
            "erased_at",
            "source",
            "enrolled_at",
            "messages_sent",
        )

    @admin.display(description=_("messages sent"))
    def messages_sent(self, obj: Member) -> str:
        messages_ = list(member_messages(member=obj)[:RECENT_MESSAGES])
        for message in messages_:
            message.member = obj
            message.text = message_text(message=message)  # type: ignore[attr-defined]  # not sent yet: as it would be
        return render_to_string(MESSAGES_TEMPLATE, {"member": obj, "messages": messages_, "limit": RECENT_MESSAGES})

    # Extensions (see MemberAdminExtension): applied on every request, in the order they were registered.

    def get_list_display(self, request: HttpRequest) -> Any:
        columns = list(super().get_list_display(request))
        for extension in _extensions:
            columns = [column for column in columns if column not in extension.list_display_hide]
            after = extension.list_display_after
            at = columns.index(after) + 1 if after is not None else len(columns)
            columns[at:at] = extension.list_display
        return tuple(columns)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Member], search_term: str
    ) -> tuple[QuerySet[Member], bool]:
        """Django's search over ``search_fields`` ORs across two tables, which PostgreSQL answers by scanning every
        member (1.5 s at a million); ``members_matching`` asks each table's trigram index instead."""
        if not search_term:
            return queryset, False
        return members_matching(queryset, terms=search_term), False

    def get_list_filter(self, request: HttpRequest) -> Any:
        extended = (item for extension in _extensions for item in extension.list_filter)
        return (*super().get_list_filter(request), *extended)

    def get_fieldsets(self, request: HttpRequest, obj: Member | None = None) -> Any:
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is not None:
            fieldsets.append((_("Messages sent"), {"fields": ("messages_sent",), "classes": ("klubb-360-section",)}))
            for extension in _extensions:
                at = extension.fieldsets_at if extension.fieldsets_at is not None else len(fieldsets)
                fieldsets[at:at] = extension.fieldsets
        return fieldsets

    def get_inlines(self, request: HttpRequest, obj: Member | None) -> Any:
        extended = (inline for extension in _extensions for inline in extension.inlines)
        return (*super().get_inlines(request, obj), *extended)

    def get_urls(self) -> list[URLPattern]:
        # Before the catch-all "<path:object_id>/" redirect of the admin's own URLs.
        extended = [url for extension in _extensions if extension.urls for url in extension.urls(self)]
        return [*extended, *super().get_urls()]

    @property
    def change_form_template(self) -> str | None:  # type: ignore[override]
        return next((e.change_form_template for e in _extensions if e.change_form_template), None)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        for extension in _extensions:
            if extension.change_view_context is not None:
                extra_context.update(extension.change_view_context(self, request, object_id))
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Delete personal data (keeps the anonymous points history)"), permissions=["change"])
    def erase_personal_data(self, request: HttpRequest, queryset: QuerySet[Member]) -> TemplateResponse | None:
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": _("Delete personal data?"),
                "members": queryset.select_related("user"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/members/member/erase_confirm.html", context)
        erased, refused = 0, 0
        for member in queryset:
            try:
                member_erase(member=member, source=ConsentSource.STAFF)
                erased += 1
                audit_record(
                    staff=request.user, action=AuditAction.OTHER, obj=member, note="Personal data deleted by staff"
                )
            except ErasureRefused:
                refused += 1
        self.message_user(request, _("Personal data deleted for %(count)d member(s).") % {"count": erased})
        if refused:
            self.message_user(
                request, _("%(count)d staff account(s) were left alone.") % {"count": refused}, messages.WARNING
            )
        return None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Member]:
        queryset = super().get_queryset(request).select_related("user")
        for extension in _extensions:
            if extension.queryset is not None:
                queryset = extension.queryset(request, queryset)
        return queryset

    @admin.display(description=_("email address"), ordering="user__email")
    def email(self, obj: Member) -> str:
        return obj.user.email

    @admin.display(description=_("name"), ordering="user__first_name")
    def name(self, obj: Member) -> str:
        return obj.user.get_full_name()


# --- Messages ---------------------------------------------------------------------------------------------
