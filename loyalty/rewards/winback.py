"""Win-back: members who stopped shopping get one personal, single-use discount code and a message.

The shop validates and uses the code through the voucher API like any voucher; it cost the member no
points. Set-based like the other scheduled jobs: candidates are found by one query per batch of member
ids (no order since the cut-off, no win-back code in the repeat period), and each batch is one short
transaction that locks only its members, re-checks them and issues the codes, so two runs at once, or
a run again after a crash, never give anyone a second code.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from loyalty.messages import LoyaltyMessage
from loyalty.models import Order, Voucher, WinbackOffer
from loyalty.rewards.catalogue import voucher_code_generate
from members.messaging import Outgoing, in_member_language, messages_queue
from members.models import Member

BATCH = settings.KLUBB_JOB_BATCH
_CODE_ATTEMPTS = 3


@dataclass(frozen=True)
class WinbackResult:
    members: int = 0


def winback_candidates(*, offer: WinbackOffer, now: dt.datetime) -> object:
    """Members inactive for the offer's days who had no win-back code within its repeat period."""
    cutoff = now - dt.timedelta(days=offer.inactive_days)
    recent_order = Order.objects.filter(member=OuterRef("pk"), occurred_at__gt=cutoff)
    recent_code = Voucher.objects.filter(
        member=OuterRef("pk"),
        winback_offer__isnull=False,
        created_at__gt=now - dt.timedelta(days=offer.repeat_days),
    )
    return (
        Member.objects.filter(erased_at__isnull=True, enrolled_at__lte=cutoff)
        .exclude(Exists(recent_order))
        .exclude(Exists(recent_code))
    )


def winback_send(*, now: dt.datetime | None = None, batch: int = BATCH) -> WinbackResult:
    """Issue the newest active offer's code to every candidate and queue the message (marketing consent)."""
    offer = WinbackOffer.objects.filter(is_active=True).first()
    if offer is None:
        return WinbackResult()
    now = now or timezone.now()
    candidates = winback_candidates(offer=offer, now=now)
    issued, last = 0, 0
    while True:
        member_ids = list(candidates.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:batch])
        if not member_ids:
            return WinbackResult(members=issued)
        last = member_ids[-1]
        issued += _batch_issue(offer=offer, member_ids=member_ids, now=now)


def _batch_issue(*, offer: WinbackOffer, member_ids: list[int], now: dt.datetime) -> int:
    expires_at = now + dt.timedelta(days=offer.valid_days)
    for _attempt in range(_CODE_ATTEMPTS):
        try:
            with transaction.atomic():
                locked = list(
                    Member.objects.select_for_update()
                    .filter(pk__in=member_ids)
                    .order_by("pk")
                    .values_list("pk", flat=True)
                )
                # Re-checked under the locks: a run that got here first has issued these members' codes.
                still = set(winback_candidates(offer=offer, now=now).filter(pk__in=locked).values_list("pk", flat=True))
                vouchers = Voucher.objects.bulk_create(
                    [
                        Voucher(
                            code=voucher_code_generate(), winback_offer=offer, member_id=member_id, points=0,
                            expires_at=expires_at, created_at=now,
                        )
                        for member_id in locked
                        if member_id in still
                    ]
                )  # fmt: skip
                valid_until = timezone.localdate(expires_at)
                messages_queue(
                    kind=LoyaltyMessage.WINBACK,
                    items=[
                        Outgoing(
                            member_id=voucher.member_id,
                            key=voucher.code,
                            context={
                                "offer": in_member_language(offer, "offer"),
                                "code": voucher.code,
                                "valid_until": valid_until,
                            },
                        )
                        for voucher in vouchers
                    ],
                    now=now,
                )
                return len(vouchers)
        except IntegrityError:  # a generated code was taken (about 1 in 10^14): draw new ones
            continue
    raise RuntimeError("Could not find free voucher codes for a win-back batch.")  # pragma: no cover
