"""Messages to a segment, through the club's messaging (``members.messaging.messages_queue``).

A segment message is marketing: it goes only through the channels each member consented to. Its messages share
the key ``segment-send-<id>``, so queueing one sending twice is one message per member and channel.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from loyalty.messages import LoyaltyMessage
from loyalty.models import Segment, SegmentSend
from loyalty.selectors import segment_members
from members.audit import audit_record, audit_snapshot
from members.messaging import Outgoing, messages_queue
from members.models import AuditAction

BATCH = 1000


def segment_message_send(*, segment: Segment, subject: str, text: str, staff: Any) -> SegmentSend:
    """Queue ``subject``/``text`` (in the segment template of each member's language) to the segment's members."""
    with transaction.atomic():
        send = SegmentSend.objects.create(segment=segment, subject=subject, body=text, staff=staff)
        member_ids = list(segment_members(segment=segment).order_by("pk").values_list("pk", flat=True))
        queued = 0
        for start in range(0, len(member_ids), BATCH):
            items = [
                Outgoing(member_id=member_id, key=f"segment-send-{send.pk}", context={"subject": subject, "text": text})
                for member_id in member_ids[start : start + BATCH]
            ]
            queued += messages_queue(kind=LoyaltyMessage.SEGMENT, items=items)
        send.members, send.queued = len(member_ids), queued
        send.save(update_fields=["members", "queued"])
        audit_record(staff=staff, action=AuditAction.CREATE, obj=send, after=audit_snapshot(send))
    return send
