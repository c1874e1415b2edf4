"""A member's messages in their data export, and what erasing them keeps (registered in ``MembersConfig.ready``)."""

from __future__ import annotations

from typing import Any

from members.models import Member, MessageStatus


def messages_export(member: Member) -> dict[str, Any]:
    return {
        "messages": [
            {"kind": m.kind, "channel": m.channel, "to": m.to, "status": m.status,
             "queued_at": m.created_at.isoformat(), "sent_at": m.sent_at.isoformat() if m.sent_at else None,
             "subject": m.subject, "text": m.body}
            for m in member.messages.order_by("created_at", "id")
        ],
        "club_notifications": {"email": member.notify_email, "sms": member.notify_sms, "time_zone": member.time_zone},
    }  # fmt: skip


def messages_erase(member: Member) -> None:
    """Keep the log's counts (kind, channel, when, outcome); wipe addresses and texts, cancel what waits."""
    member.messages.filter(status=MessageStatus.QUEUED).update(
        status=MessageStatus.CANCELLED, error="The member deleted their account."
    )
    member.messages.update(to="", subject="", body="")
