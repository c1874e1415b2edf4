"""What the member portal shows of the points engine."""

from __future__ import annotations

from typing import Any

from loyalty.selectors import member_entries, member_standing
from members.models import Member

RECENT_ENTRIES = 10


def portal_standing(member: Member) -> dict[str, Any]:
    return {
        "standing": member_standing(member=member),
        "recent_entries": list(member_entries(member=member)[:RECENT_ENTRIES]),
    }
