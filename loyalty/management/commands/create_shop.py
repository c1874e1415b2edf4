"""Create a shop and print its new API key on the last line (for automation and tests)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from loyalty.models import OPERATIONAL_SCOPES, ApiScope, Currency
from loyalty.shops import api_key_create, shop_create


class Command(BaseCommand):
    help = "Create a shop and an API key for it. The key is printed once, on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", required=True, choices=Currency.values)
        parser.add_argument("--slug", default="", help="Used in webhook addresses; derived from the name if empty.")
        parser.add_argument("--webhook-secret", default="", help="Shared secret for Shopify and WooCommerce webhooks.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=ApiScope.values,
            dest="scopes",
            help="What the key may do; repeat for more. Default: every operation, for the shop's own customers "
            "(all but members:all).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("--name must not be empty.")
        shop = shop_create(
            name=name, currency=options["currency"], slug=options["slug"], webhook_secret=options["webhook_secret"]
        )
        key, raw_key = api_key_create(
            shop=shop, name="created by create_shop", scopes=options["scopes"] or OPERATIONAL_SCOPES
        )
        self.stderr.write(
            f"Created shop {shop.name!r} (slug {shop.slug}, {shop.currency}). Its API key, with the scopes "
            f"{' '.join(key.scopes)}, shown once:"
        )
        self.stdout.write(raw_key)
