"""List accounts whose addresses are one mailbox (the same canonical form), for staff to settle; exit non-zero
when there are any."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from members.emails import email_canonical
from members.selectors import email_collisions


class Command(BaseCommand):
    help = (
        "List accounts whose email addresses reach one mailbox (capitals, fullwidth letters, invisible characters "
        "or another spelling of the domain), made before Klubb compared canonical forms. Nothing is merged: "
        "settle each group in the admin (e.g. move the points to one membership and deactivate the other)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        groups = email_collisions()
        if not groups:
            self.stdout.write(self.style.SUCCESS("No collisions: every mailbox has one account."))
            return
        for users in groups:
            self.stdout.write(f"{email_canonical(users[0].email)}:")
            for user in users:
                member = getattr(user, "member", None)
                membership = (
                    f"member {member.public_id}, enrolled {member.enrolled_at:%Y-%m-%d} ({member.source})"
                    if member is not None
                    else "no membership"
                )
                self.stdout.write(f"  user {user.pk} {user.email!a}: {membership}")
        raise CommandError(f"{len(groups)} mailbox(es) with more than one account.")
