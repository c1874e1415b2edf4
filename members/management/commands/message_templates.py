"""Install the default message texts where a kind, channel or language has none; ``--reset`` restores them all."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from members.messaging import message_templates_install


class Command(BaseCommand):
    help = "Install missing default message templates (en, nb, da, sv); --reset overwrites staff's edits."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="Overwrite every template with the default text.")

    def handle(self, *args: Any, reset: bool = False, **options: Any) -> None:
        count = message_templates_install(reset=reset)
        self.stdout.write(f"message_templates: {count} {'reset' if reset else 'installed'}")
