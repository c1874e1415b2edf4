"""What the referral programme reports, and who hears it: the ``referral.rewarded`` webhook and the referrer's
message. Emitted through ``loyalty.events``; subscribed in ``ReferralsConfig.ready``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext as _

from loyalty.events import subscribe
from loyalty.events.outbox import webhooks_publish
from loyalty.models import WebhookEventType
from members.messaging import Outgoing, messages_queue
from referrals.messages import ReferralMessage
from referrals.models import Referral


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


def subscribers_install() -> None:
    subscribe(ReferralRewarded, referral_rewarded_webhooks)
    subscribe(ReferralRewarded, referral_rewarded_messages)
