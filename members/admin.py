"""Staff admin for people and memberships.

``members`` knows nothing of points: ``loyalty.admin`` replaces ``MemberAdmin`` with a subclass that
adds balance, tier and the ledger (dependencies point one way, see CONVENTIONS.md).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from members.models import Member, User


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


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("email", "name", "phone", "language", "source", "enrolled_at")
    list_select_related = ("user",)
    list_filter = ("language", "source", "enrolled_at")
    search_fields = ("user__email", "user__first_name", "user__last_name", "phone", "public_id")
    date_hierarchy = "enrolled_at"
    autocomplete_fields = ("user",)
    readonly_fields: tuple[str, ...] = ("public_id",)
    fieldsets: Any = (
        (None, {"fields": ("public_id", "user", "phone", "language", "birthday")}),
        (_("Membership"), {"fields": ("source", "enrolled_at")}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Member]:
        return super().get_queryset(request).select_related("user")

    @admin.display(description=_("email address"), ordering="user__email")
    def email(self, obj: Member) -> str:
        return obj.user.email

    @admin.display(description=_("name"), ordering="user__first_name")
    def name(self, obj: Member) -> str:
        return obj.user.get_full_name()
