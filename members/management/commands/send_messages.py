"""Send the messages that are due now (also every minute on the Celery beat schedule); safe to run again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from members.messaging import messages_send_due


class Command(BaseCommand):
    help = "Send every queued message that is due (quiet hours and retries respected)."

    def handle(self, *args: Any, **options: Any) -> None:
        outcomes = messages_send_due()
        self.stdout.write(
            "send_messages: " + (", ".join(f"{n} {what}" for what, n in sorted(outcomes.items())) or "none due")
        )
