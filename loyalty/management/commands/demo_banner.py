"""Print where the demo runs and how to log in (``make run`` calls it before serving)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from loyalty.management.commands.seed_demo import (
    DEMO_API_KEY,
    DEMO_WEBHOOK_SECRET,
    MEMBER_PASSWORD,
    MEMBERS,
    STAFF_EMAIL,
    STAFF_PASSWORD,
    STAFF_TOTP_SECRET,
)
from loyalty.management.demo import SECOND_SHOP_API_KEY


class Command(BaseCommand):
    help = "Print the demo's URLs and logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", default="8000")

    def handle(self, *args: Any, **options: Any) -> None:
        base = f"http://{options['host']}:{options['port']}"
        # The demo storefront is meant to be another site than Klubb: the same port under this machine's other name.
        shop_host = "localhost" if options["host"] in {"127.0.0.1", "0.0.0.0"} else "127.0.0.1"
        storefront = f"http://{shop_host}:{options['port']}/demo/storefront/"
        lines = [
            "",
            "Klubb is starting:",
            f"  Member portal   {base}/          member login: {MEMBERS[0][0]} / {MEMBER_PASSWORD}",
            f"  Staff admin     {base}/admin/    staff login:  {STAFF_EMAIL} / {STAFF_PASSWORD}",
            f"                  then the two-factor code: `.venv/bin/python manage.py demo_totp`"
            f" (or add secret {STAFF_TOTP_SECRET} to an authenticator app)",
            "  Sign-in emails (verification, codes) are printed in this terminal.",
            f"  Links in emails and SMS  {settings.KLUBB_PORTAL_URL}   (KLUBB_PORTAL_URL)",
            f"  Demo storefront {storefront}   a shop's page on another origin, with the Klubb widget"
            " and points badges; switch between Kari signed in and a visitor",
            f"  API docs        {base}/api/docs/ (schema: {base}/api/schema/)",
            f"  Demo shop API key (Nordlys Sport, NOK): {DEMO_API_KEY}",
            f"  Second shop's API key (Fjällbo Outdoor, SEK): {SECOND_SHOP_API_KEY}",
            f"  Webhooks        {base}/hooks/shopify/nordlys-sport/ and /hooks/woocommerce/nordlys-sport/"
            f" (secret: {DEMO_WEBHOOK_SECRET})",
            "",
        ]
        self.stdout.write("\n".join(lines))
