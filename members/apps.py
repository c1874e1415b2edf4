from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        from members import (
            privacy,
            tasks,  # noqa: F401  (on import it registers the task that sends due messages)
        )
        from members.messaging import (
            WELCOME_TEXTS,
            MemberMessage,
            message_kind_register,
            messages_erase,
            messages_export,
        )

        privacy.register(name="messages", exporter=messages_export, eraser=messages_erase)
        message_kind_register(kind=MemberMessage.WELCOME, label=MemberMessage.WELCOME.label, defaults=WELCOME_TEXTS)


class KlubbAdminConfig(admin_apps.AdminConfig):
    """Django's admin with ``KlubbAdminSite``: staff sign in through allauth and need two-factor authentication."""

    default = False
    default_site = "members.admin_site.KlubbAdminSite"
