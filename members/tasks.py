"""Celery tasks of ``members``: sending queued messages. They call ``members.messaging``.

Imported by ``MembersConfig.ready``: ``send_due_messages`` registers itself with ``members.messaging`` as the
task that queueing asks to run after each commit (messaging does not import this module).
"""

from __future__ import annotations

from celery import shared_task

from config.celery import RETRY_TRANSIENT
from members.messaging import messages_send_due, messages_sender_register


@shared_task(name="members.send_due_messages", ignore_result=True, **RETRY_TRANSIENT)
def send_due_messages() -> dict[str, int]:
    """Send every message that is due (after each commit that queued some, and every minute on beat).

    Safe to run any number of times at once: each message is claimed by one worker under a lease.
    """
    return messages_send_due()


messages_sender_register(send_due_messages)
