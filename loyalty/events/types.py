"""What the points engine reports: one frozen dataclass per kind of happening, emitted by the service that
made it happen. They carry the rows the service has in hand, so subscribers read nothing again."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from loyalty.models import LedgerEntry, Order, Reward, Shop, Tier, Voucher
from members.models import Member


@dataclass(frozen=True)
class PointsChanged:
    """An entry moved a member's balance (webhook ``points.changed``). ``member_public_id`` where the service
    has it; a batch leaves it out and the webhook subscriber reads the ids it needs in one query."""

    entry: LedgerEntry
    member_public_id: uuid.UUID | None = None


@dataclass(frozen=True)
class PointsEarned:
    """An order earned points (the member's "points earned" message)."""

    member: Member
    order: Order
    shop: Shop
    points: int
    balance: int


@dataclass(frozen=True)
class OrderRecorded:
    """A shop's order was recorded (live, not an import), whatever it earned: replenishment reminders follow it."""

    member: Member
    order: Order


@dataclass(frozen=True)
class RefundRecorded:
    """A refund of ``order`` was recorded; ``skus``: the goods it says came back (none when it names none)."""

    order: Order
    skus: tuple[str, ...]


@dataclass(frozen=True)
class TierChanged:
    """A member moved to another tier: up (an order, the review, an import) or down (the review)."""

    member_id: int
    from_tier: Tier | None
    to_tier: Tier
    at: dt.datetime
    up: bool
    reason: str  # TierChangeReason: what moved them
    member_public_id: uuid.UUID | None = None
    notify: bool = True  # False: history only (an import), no webhook and no message


@dataclass(frozen=True)
class MemberEnrolled:
    """A shop (its API, a webhook, an order) enrolled a new member (webhook ``member.enrolled``)."""

    member: Member
    shop: Shop
    source: str


@dataclass(frozen=True)
class RewardRedeemed:
    """A member spent points on a catalogue reward and got its voucher."""

    member: Member
    reward: Reward
    voucher: Voucher
