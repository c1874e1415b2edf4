"""Print the demo staff account's current two-factor code (the demo's TOTP secret is published)."""

from __future__ import annotations

from typing import Any

from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from loyalty.management.commands.seed_demo import STAFF_TOTP_SECRET


class Command(BaseCommand):
    help = "Print the current two-factor code of the demo staff account (DEBUG only)."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEBUG:
            raise CommandError("demo_totp belongs to the demo and runs only with DEBUG on.")
        counter = int(timezone.now().timestamp()) // mfa_settings.TOTP_PERIOD
        self.stdout.write(format_hotp_value(hotp_value(STAFF_TOTP_SECRET, counter)))
