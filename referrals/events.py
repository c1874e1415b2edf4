"""What the referral programme reports, and who hears it: the ``referral.rewarded`` webhook and the referrer's
message; the friend's message with their discount code. Emitted through ``loyalty.events``; subscribed in
``ReferralsConfig.ready``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from loyalty.events import subscribe
from loyalty.events.outbox import webhooks_publish
from loyalty.models import WebhookEventType
from members.messaging import Outgoing, messages_queue
from members.models import Member
from referrals.messages import ReferralMessage
from referrals.models import FriendDiscount, Referral
from referrals.terms import discount_wording


@dataclass(frozen=True)
class ReferralRewarded:
    """A referrer was paid for a friend who became a customer."""

    referral: Referral
    points: int


def referral_rewarded_webhooks(events: Sequence[ReferralRewarded]) -> None:
    webhooks_publish(
        type=WebhookEventType.REFERRAL_REWARDED,
        payloads=[
            {
                "referral_id": e.referral.pk,
                "referrer_id": str(e.referral.referrer.public_id),
                "friend_id": str(e.referral.friend.public_id),
                "points": e.points,
            }
            for e in events
        ],
        # Both ids are in the payload: a shop hears of it when both are its customers.
        members=[{e.referral.referrer_id, e.referral.friend_id} for e in events],
    )


def referral_rewarded_messages(events: Sequence[ReferralRewarded]) -> None:
    items = []
    for e in events:
        with translation.override(e.referral.referrer.language):
            friend = e.referral.friend.user.first_name or _("your friend")
        items.append(Outgoing(member_id=e.referral.referrer_id, key=str(e.referral.pk),
                              context={"points": e.points, "friend": friend}))  # fmt: skip
    messages_queue(kind=ReferralMessage.REFERRAL_REWARDED, items=items)


@dataclass(frozen=True)
class FriendDiscountIssued:
    """A friend who joined through an invitation was given a personal discount code."""

    discount: FriendDiscount
    friend: Member


def friend_discount_messages(events: Sequence[FriendDiscountIssued]) -> None:
    items = []
    for e in events:
        with translation.override(e.friend.language):
            items.append(
                Outgoing(
                    member_id=e.friend.pk,
                    key=str(e.discount.pk),
                    context={
                        "code": e.discount.code,
                        "discount": discount_wording(e.discount),
                        "expires": formats.date_format(
                            timezone.localtime(e.discount.expires_at, ZoneInfo(e.friend.time_zone)), "DATE_FORMAT"
                        ),
                    },
                )
            )
    messages_queue(kind=ReferralMessage.FRIEND_DISCOUNT, items=items)


def subscribers_install() -> None:
    subscribe(ReferralRewarded, referral_rewarded_webhooks)
    subscribe(ReferralRewarded, referral_rewarded_messages)
    subscribe(FriendDiscountIssued, friend_discount_messages)
