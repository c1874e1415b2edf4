"""Writes of the referral programme: codes, clicks, attaching friends, qualifying, rewarding, reviewing.

Points go through ``loyalty.ledger``; what happened is emitted (``referrals.events``). The rules for money live here:

- a friend can be referred once (``Referral.friend`` is unique), never by themselves;
- the friend's first order at or above the minimum qualifies the referral; the referrer is paid once the
  return window has passed and the order was not returned, exactly once (row lock + status check +
  a unique ledger entry per referral);
- suspicious referrals wait for staff review instead of paying out.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from config.rows import row_exists
from loyalty.events import emit
from loyalty.ledger import points_bonus
from loyalty.models import Order, Refund
from members.models import Member
from referrals.discounts import (
    friend_discount_issue,
    friend_discount_record,
    friend_discounts_use,
    mailbox_had_discount,
)
from referrals.errors import (
    ReferralAlreadyMember,
    ReferralAlreadyReferred,
    ReferralCodeUnknown,
    ReferralRefused,
    ReferralSelf,
)
from referrals.events import ReferralRewarded
from referrals.identity import email_identity
from referrals.models import (
    CODE_ALPHABET,
    CODE_LENGTH,
    Referral,
    ReferralClick,
    ReferralCode,
    ReferralProgramme,
    ReferralStatus,
)
from referrals.selectors import code_lookup, code_normalise
from referrals.terms import programme_discount_terms

logger = logging.getLogger(__name__)

_CODE_ATTEMPTS = 8
CHECKOUT = "checkout"  # ``Referral.source`` of a referral made by an order carrying the referrer's code


def referral_code_for(*, member: Member) -> ReferralCode:
    """The member's code, made on first use: 8 characters from 31 (about 40 bits), no look-alikes."""
    existing = ReferralCode.objects.filter(member=member).first()
    if existing is not None:
        return existing
    for _attempt in range(_CODE_ATTEMPTS):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            with transaction.atomic():
                return ReferralCode.objects.create(member=member, code=code)
        except IntegrityError:
            existing = ReferralCode.objects.filter(member=member).first()
            if existing is not None:  # made by a concurrent request for the same member
                return existing
    raise RuntimeError("Could not find a free referral code.")  # pragma: no cover - 31**8 codes


def referral_click_record(*, code: ReferralCode, ip_address: str | None, user_agent: str) -> ReferralClick:
    return ReferralClick.objects.create(code=code, ip_address=ip_address, user_agent=user_agent[:300])


def referral_check(*, referrer: Member, email: str, phone: str = "") -> None:
    """Refuse a friend who is the referrer under another address or phone (before the friend exists)."""
    if email_identity(email) == email_identity(referrer.user.email):
        raise ReferralSelf()
    if phone and referrer.phone and phone == referrer.phone:
        raise ReferralSelf()


def referral_attach(
    *,
    friend: Member,
    code: str,
    source: str,
    new_member: bool,
    ip_address: str | None = None,
    user_agent: str = "",
) -> Referral:
    """Record that ``friend`` joined through ``code``, and give the welcome bonus unless it needs review.

    Refuses (``ReferralRefused`` subclasses, nothing written) an unknown code, the referrer themselves, a
    friend who was a member or customer before, and a friend someone else already referred.
    """
    programme = ReferralProgramme.load()
    referral_code = code_lookup(code=code)
    if referral_code is None:
        raise ReferralCodeUnknown()
    referrer = referral_code.member
    if referrer.pk == friend.pk:
        raise ReferralSelf()
    referral_check(referrer=referrer, email=friend.user.email, phone=friend.phone)
    if not new_member or Order.objects.filter(member=friend).exists():
        raise ReferralAlreadyMember()
    with transaction.atomic():
        Member.objects.select_for_update().get(pk=friend.pk)  # one attach per friend at a time
        if Referral.objects.filter(friend=friend).exists():
            raise ReferralAlreadyReferred()
        flags = _signup_flags(programme=programme, ip_address=ip_address, user_agent=user_agent)
        referral = Referral.objects.create(
            referrer=referrer,
            friend=friend,
            code=referral_code,
            source=source,
            signup_ip=ip_address,
            signup_user_agent=user_agent[:300],
            flags=flags,
            status=ReferralStatus.REVIEW if flags else ReferralStatus.PENDING,
        )
        if not flags:
            _friend_welcome(referral=referral, programme=programme)
    return referral


def _friend_welcome(*, referral: Referral, programme: ReferralProgramme) -> None:
    """What a friend who joined gets once no fraud rule holds them: the welcome bonus and their discount code."""
    _friend_bonus_pay(referral=referral, programme=programme)
    if referral.source != CHECKOUT:  # a checkout-first friend used the referrer's code on their order already
        friend_discount_issue(referral=referral, programme=programme)


def _signup_flags(*, programme: ReferralProgramme, ip_address: str | None, user_agent: str) -> list[dict[str, Any]]:
    if not ip_address:
        return []
    return _burst_flags(
        programme=programme,
        rule="signup_burst",
        same=Referral.objects.filter(signup_ip=ip_address, signup_user_agent=user_agent[:300]),
        detail=f"referred sign-ups from {ip_address} with one browser",
    )


def _burst_flags(*, programme: ReferralProgramme, rule: str, same: Any, detail: str) -> list[dict[str, Any]]:
    """``rule`` when this referral makes ``burst_signups`` of ``same`` within ``burst_minutes``."""
    since = timezone.now() - dt.timedelta(minutes=programme.burst_minutes)
    recent = same.filter(created_at__gte=since)
    count = recent.count() + 1
    if count < programme.burst_signups:
        return []
    return [
        {
            "rule": rule,
            "detail": f"{count} {detail} in {programme.burst_minutes} min",
            "referral_ids": list(recent.values_list("pk", flat=True)),
        }
    ]


def _friend_bonus_pay(*, referral: Referral, programme: ReferralProgramme) -> None:
    if referral.friend_bonus_entry_id or not programme.friend_bonus:
        return
    referral.friend_bonus_entry = points_bonus(
        member=referral.friend,
        points=programme.friend_bonus,
        reason="Welcome bonus for joining through a friend",
        detail={"source": "referral_welcome", "referral_id": referral.pk},
    )
    referral.save(update_fields=["friend_bonus_entry"])


def referral_on_order(order: Order, order_input: Any) -> None:
    """Hook (inside the order's transaction): a friend's code on the order is used (and the referrer's code
    attributes a checkout-first referral); the friend's first order at or above the minimum qualifies."""
    if order_input.discount_codes:
        codes = {code_normalise(code) for code in order_input.discount_codes} - {""}
        friend_discounts_use(order=order, codes=codes)
        _checkout_attach(order=order, codes=codes, phone=getattr(order_input.member, "phone", "") or "")
    # Runs on every order, and almost every member was not referred: ask with SQL built once per process
    # (building an ORM query costs more Python than the database spends answering it), lock only a referral.
    open_statuses = (ReferralStatus.PENDING.value, ReferralStatus.REVIEW.value)
    if not row_exists(Referral, friend=order.member_id, qualifying_order=None, status=open_statuses):
        return
    open_referrals = Referral.objects.select_for_update().filter(
        friend_id=order.member_id, qualifying_order__isnull=True, status__in=open_statuses
    )
    referral = next(iter(open_referrals.order_by("pk")[:1]), None)
    if referral is None:
        return
    programme = ReferralProgramme.load()
    if order.amount < programme.minimum_order:
        return
    flags = _order_flags(referral=referral, order=order, phone=getattr(order_input.member, "phone", ""))
    referral.qualifying_order = order
    referral.qualified_at = timezone.now()
    referral.reward_due_at = max(order.occurred_at, referral.qualified_at) + dt.timedelta(
        days=programme.confirmation_days
    )
    referral.flags = [*referral.flags, *flags]
    if flags or referral.status == ReferralStatus.REVIEW:
        referral.status = ReferralStatus.REVIEW
    else:
        referral.status = ReferralStatus.QUALIFIED
    referral.save(update_fields=["qualifying_order", "qualified_at", "reward_due_at", "flags", "status"])


def _checkout_attach(*, order: Order, codes: set[str], phone: str) -> None:
    referral_code = next((found for code in sorted(codes) if (found := code_lookup(code=code))), None)
    if referral_code is None:
        return
    try:
        with transaction.atomic():  # a savepoint: a refusal, or a race lost on a unique row, undoes only this
            referral_attach_at_checkout(order=order, referral_code=referral_code, phone=phone)
    except ReferralRefused as refusal:  # the order stands; the code just refers nobody
        logger.info("Order %s carries referral code %s: %s", order.external_id, referral_code.code, refusal.code)
    except IntegrityError:  # the same mailbox under another account got its discount in a concurrent order
        logger.info("Order %s carries referral code %s: lost a race", order.external_id, referral_code.code)


def referral_attach_at_checkout(*, order: Order, referral_code: ReferralCode, phone: str = "") -> Referral:
    """A checkout-first referral: ``order`` carried the referrer's code, its customer never opened the portal.

    The same rules as a sign-up: not the referrer (account, mailbox, phone), a new customer (no earlier order,
    joined within the attribution window, no friend's discount to this mailbox before), not referred already;
    many checkout referrals on one code in a short time wait for review. Records the friend's discount as used
    on the order. Runs inside the order's transaction, under the member's account lock.
    """
    programme = ReferralProgramme.load()
    friend = Member.objects.select_related("user").get(pk=order.member_id)
    referrer = referral_code.member
    if referrer.pk == friend.pk:
        raise ReferralSelf()
    referral_check(referrer=referrer, email=friend.user.email, phone=phone or friend.phone)
    ordered_before = Order.objects.filter(member=friend).exclude(pk=order.pk).exists()
    if ordered_before or friend.enrolled_at < timezone.now() - dt.timedelta(days=programme.attribution_days):
        raise ReferralAlreadyMember()
    if Referral.objects.filter(friend=friend).exists() or mailbox_had_discount(email=friend.user.email):
        raise ReferralAlreadyReferred()
    flags = _checkout_flags(programme=programme, referral_code=referral_code)
    referral = Referral.objects.create(
        referrer=referrer,
        friend=friend,
        code=referral_code,
        source=CHECKOUT,
        flags=flags,
        status=ReferralStatus.REVIEW if flags else ReferralStatus.PENDING,
    )
    if (terms := programme_discount_terms(programme)) is not None:
        friend_discount_record(referral=referral, order=order, terms=terms)
    if not flags:
        _friend_welcome(referral=referral, programme=programme)
    return referral


def _checkout_flags(*, programme: ReferralProgramme, referral_code: ReferralCode) -> list[dict[str, Any]]:
    """A checkout has no IP address of the customer: the burst rule counts new customers on one code instead."""
    return _burst_flags(
        programme=programme,
        rule="checkout_burst",
        same=Referral.objects.filter(code=referral_code, source=CHECKOUT),
        detail=f"new customers used {referral_code.code} at checkout",
    )


def _order_flags(*, referral: Referral, order: Order, phone: str) -> list[dict[str, Any]]:
    flags = []
    if phone and referral.referrer.phone and phone == referral.referrer.phone:
        flags.append(
            {"rule": "referrer_phone_on_order", "detail": f"Order {order.external_id} gives the referrer's phone"}
        )
    if order.address_fingerprint and (
        Order.objects.filter(member=referral.referrer, address_fingerprint=order.address_fingerprint).exists()
    ):
        flags.append(
            {
                "rule": "referrer_address_on_order",
                "detail": f"Order {order.external_id} ships to the referrer's address",
            }
        )
    return flags


def referral_on_refund(refund: Refund) -> None:
    """Hook (inside the refund's transaction): a return of the qualifying order before payment rejects it."""
    referral = (
        Referral.objects.select_for_update(of=("self",))
        .filter(qualifying_order_id=refund.order_id, status__in=[ReferralStatus.QUALIFIED, ReferralStatus.REVIEW])
        .first()
    )
    if referral is not None:
        _reject_if_returned(referral=referral, programme=ReferralProgramme.load())


def _reject_if_returned(*, referral: Referral, programme: ReferralProgramme) -> bool:
    order = referral.qualifying_order
    refunded = Refund.objects.filter(order=order).aggregate(total=Sum("amount"))["total"] or Decimal("0")
    if refunded <= 0:
        return False
    if refunded >= order.amount:
        reason = "The qualifying order was returned."
    elif order.amount - refunded < programme.minimum_order:
        reason = "The qualifying order was partly returned, to below the minimum."
    else:
        return False
    _reject(referral=referral, reason=reason)
    return True


def _reject(*, referral: Referral, reason: str, staff: Any = None) -> None:
    referral.status = ReferralStatus.REJECTED
    referral.rejection_reason = reason[:200]
    referral.rejected_at = timezone.now()
    if staff is not None:
        referral.reviewed_by, referral.reviewed_at = staff, referral.rejected_at
    referral.save(update_fields=["status", "rejection_reason", "rejected_at", "reviewed_by", "reviewed_at"])


def referral_reward(*, referral_id: int) -> Referral:
    """Pay the referrer if the referral is qualified, due, not returned and not over the monthly limit.

    Safe to run any number of times, concurrently: the row lock and the status make it pay once.
    """
    programme = ReferralProgramme.load()
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",))
            .select_related("qualifying_order", "friend__user", "referrer")
            .get(pk=referral_id)
        )
        now = timezone.now()
        if (
            referral.status != ReferralStatus.QUALIFIED
            or referral.reward_due_at is None
            or referral.reward_due_at > now
        ):
            return referral
        if _reject_if_returned(referral=referral, programme=programme):
            return referral
        if referral.reviewed_at is None and programme.monthly_reward_limit:
            month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            rewarded = Referral.objects.filter(
                referrer=referral.referrer, status=ReferralStatus.REWARDED, rewarded_at__gte=month_start
            ).count()
            if rewarded >= programme.monthly_reward_limit:
                referral.flags = [
                    *referral.flags,
                    {"rule": "monthly_limit", "detail": f"{rewarded} referrals already rewarded this month"},
                ]
                referral.status = ReferralStatus.REVIEW
                referral.save(update_fields=["flags", "status"])
                return referral
        referral.referrer_entry = points_bonus(
            member=referral.referrer,
            points=programme.referrer_reward,
            # No name of the friend: the referrer's ledger outlives the friend's right to be forgotten.
            reason="Referral reward: a friend became a customer",
            detail={"source": "referral_reward", "referral_id": referral.pk},
        )
        referral.status = ReferralStatus.REWARDED
        referral.rewarded_at = now
        referral.save(update_fields=["referrer_entry", "status", "rewarded_at"])
        emit(ReferralRewarded(referral=referral, points=programme.referrer_reward))
    return referral


def referrals_reward_due() -> int:
    """Pay every referral whose return window has passed; returns how many were paid."""
    due = Referral.objects.filter(status=ReferralStatus.QUALIFIED, reward_due_at__lte=timezone.now())
    paid = 0
    for referral_id in due.values_list("pk", flat=True).iterator():
        paid += referral_reward(referral_id=referral_id).status == ReferralStatus.REWARDED
    return paid


def referral_approve(*, referral: Referral, staff: Any) -> Referral:
    """Staff clear a referral held for review: the friend gets the welcome bonus, the referrer is paid when due."""
    programme = ReferralProgramme.load()
    with transaction.atomic():
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status != ReferralStatus.REVIEW:
            return referral
        referral.reviewed_by, referral.reviewed_at = staff, timezone.now()
        referral.status = ReferralStatus.QUALIFIED if referral.qualifying_order_id else ReferralStatus.PENDING
        referral.save(update_fields=["reviewed_by", "reviewed_at", "status"])
        _friend_welcome(referral=referral, programme=programme)
    if referral.status == ReferralStatus.QUALIFIED:
        referral = referral_reward(referral_id=referral.pk)
    return referral


def referral_reject(*, referral: Referral, staff: Any, reason: str) -> Referral:
    with transaction.atomic():
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status not in (ReferralStatus.REWARDED, ReferralStatus.REJECTED):
            _reject(referral=referral, reason=reason, staff=staff)
    return referral


def referral_on_enrol(member: Member, created: bool, shop: Any, extra: dict[str, Any]) -> None:
    """Hook (inside the shop API's enrolment): attach a member a shop enrolled with a referral code."""
    code = extra.get("referral_code", "")
    if code:
        referral_attach(friend=member, code=code, source="api", new_member=created)


def member_referral_path(member: Member) -> str | None:
    """The path of ``member``'s invitation link while the programme is on (``loyalty.hooks.referral_path``)."""
    if not ReferralProgramme.load().is_active:
        return None
    return reverse("referral-landing", args=[referral_code_for(member=member).code])
