"""A member's messages in their data export, and what erasing them keeps (registered in ``MembersConfig.ready``)."""

from __future__ import annotations

from typing import Any

from members.messaging.compose import message_text
from members.models import Member, MessageStatus


def messages_export(member: Member) -> dict[str, Any]:
    """Every message to the member with its text: as sent, or for one not sent yet, as it would be sent now."""
    messages = []
    for m in member.messages.select_related("member__user").order_by("created_at", "id"):
        text = message_text(message=m)
        messages.append(
            {"kind": m.kind, "channel": m.channel, "to": m.to, "status": m.status,
             "queued_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
             "subject": text.subject, "text": text.body}
        )  # fmt: skip
    return {
        "messages": messages,
        "club_notifications": {"email": member.notify_email, "sms": member.notify_sms, "time_zone": member.time_zone},
    }


def messages_erase(member: Member) -> None:
    """Keep the log's counts (kind, channel, when, outcome); wipe addresses, texts and the variables they were made
    from (a name, an order number), and cancel what waits or is being sent (a worker sending one now finds it
    cancelled, and neither records it nor keeps its text)."""
    member.messages.filter(status__in=[MessageStatus.QUEUED, MessageStatus.SENDING]).update(
        status=MessageStatus.CANCELLED, error="The member deleted their account."
    )
    member.messages.update(to="", subject="", body="", context=None)
