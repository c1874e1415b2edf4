"""The friend's discount: a single-use discount on a referred friend's first order.

Two ways to it, one row (``FriendDiscount``) per referral, so one per friend and one per mailbox:

- a friend who joins in the portal through an invitation gets a personal code (``friend_discount_issue``, called
  by ``referral_attach`` or, for a sign-up held for review, by ``referral_approve``) and an email with it;
- a customer who enters the referrer's own code at a shop's checkout uses that code (checkout-first): the order
  carrying it attributes the referral (``referrals.services``) and ``friend_discount_record`` notes the use.

Shops check a code through the voucher API (``friend_code_check``, registered as ``loyalty.hooks.voucher_lookup``)
and use it by sending the order with the code in ``discount_codes`` (``friend_discounts_use``). Amounts are
Decimal and in the points programme's currency: a shop that sells in another currency can honour only a percent
discount without a minimum order, so for it the code is not valid.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.events import emit
from loyalty.models import Order, Shop
from members.emails import email_canonical
from members.models import Member
from referrals.events import FriendDiscountIssued
from referrals.identity import email_identity, mailbox_hash
from referrals.models import (
    CODE_ALPHABET,
    FriendDiscount,
    FriendDiscountStatus,
    Referral,
    ReferralCode,
    ReferralProgramme,
)
from referrals.selectors import code_lookup, code_normalise
from referrals.terms import DiscountTerms, discount_terms, programme_discount_terms

logger = logging.getLogger(__name__)

# Between a referral code's 8 characters and a voucher's 10 (same alphabet): no code is ever two kinds of code.
PERSONAL_CODE_LENGTH = 9
_CODE_ATTEMPTS = 5


def friend_discount_issue(*, referral: Referral, programme: ReferralProgramme) -> FriendDiscount | None:
    """Give the friend a personal single-use code on the programme's terms, once (inside the caller's transaction).

    None when the programme gives no discount, or the friend (or their mailbox, under another account) has one.
    """
    terms = programme_discount_terms(programme)
    mailbox = mailbox_hash(referral.friend.user.email)
    if terms is None or _discount_given(referral=referral, mailbox=mailbox):
        return None
    now = timezone.now()
    for _attempt in range(_CODE_ATTEMPTS):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(PERSONAL_CODE_LENGTH))
        try:
            with transaction.atomic():
                discount = FriendDiscount.objects.create(
                    referral=referral,
                    code=code,
                    mailbox=mailbox,
                    expires_at=now + dt.timedelta(days=programme.friend_discount_valid_days),
                    created_at=now,
                    **_terms_fields(terms),
                )
        except IntegrityError:
            if _discount_given(referral=referral, mailbox=mailbox):
                return None  # given by a concurrent call
            continue  # the code was taken
        emit(FriendDiscountIssued(discount=discount, friend=referral.friend))
        return discount
    raise RuntimeError("Could not find a free friend's discount code.")  # pragma: no cover - 31**10 codes


def _discount_given(*, referral: Referral, mailbox: str) -> bool:
    return FriendDiscount.objects.filter(Q(referral=referral) | Q(mailbox=mailbox)).exists()


def friend_discount_record(*, referral: Referral, order: Order, terms: DiscountTerms) -> FriendDiscount:
    """Note that the order used the referrer's shared code as the friend's discount (checkout-first)."""
    return FriendDiscount.objects.create(
        referral=referral,
        code=referral.code.code,
        shared=True,
        mailbox=mailbox_hash(referral.friend.user.email),
        status=FriendDiscountStatus.USED,
        expires_at=order.occurred_at,
        used_at=timezone.now(),
        used_order=order,
        used_by_shop=order.shop,
        **_terms_fields(terms),
    )


def _terms_fields(terms: DiscountTerms) -> dict[str, Any]:
    return {"kind": terms.kind, "value": terms.value, "minimum_order": terms.minimum_order, "currency": terms.currency}


def friend_discounts_use(*, order: Order, codes: set[str]) -> list[FriendDiscount]:
    """Mark the personal codes among the order's discount codes used on it (inside the order's transaction).

    A code already used on another order, or expired, is logged, not fatal: the order stands.
    """
    used = []
    personal = FriendDiscount.objects.select_for_update().filter(code__in=codes, shared=False).order_by("pk")
    for discount in personal:
        if discount.status == FriendDiscountStatus.USED or discount.expires_at <= timezone.now():
            logger.warning("Order %s carries friend's discount %s: used or expired", order.external_id, discount.code)
            continue
        discount.status = FriendDiscountStatus.USED
        discount.used_at = timezone.now()
        discount.used_order = order
        discount.used_by_shop = order.shop
        discount.save(update_fields=["status", "used_at", "used_order", "used_by_shop"])
        used.append(discount)
    return used


def mailbox_had_discount(*, email: str) -> bool:
    """Whether the mailbox behind ``email`` was given a friend's discount already (however it was spelled)."""
    return FriendDiscount.objects.filter(mailbox=mailbox_hash(email)).exists()


def friend_code_check(code: str, shop: Shop, email: str) -> dict[str, Any] | None:
    """The voucher API's answer for a friend's code (``loyalty.hooks.voucher_lookup``), or None for another code.

    A personal code is valid until used or expired. The referrer's shared code is valid while the programme
    gives a discount; with the customer's ``email``, only for a customer it could still be a first order for:
    not the referrer, not a mailbox that had a friend's discount, not a member who ordered or was referred.
    """
    normalised = code_normalise(code)
    if not normalised:
        return None
    personal = FriendDiscount.objects.select_related("referral__friend", "used_order").filter(
        code=normalised, shared=False
    )
    if (discount := personal.first()) is not None:
        terms = discount_terms(discount)
        return _answer(
            code=discount.code, terms=terms, valid=discount.is_valid and terms.usable_in(shop.currency),
            status=discount.status, expires_at=discount.expires_at, member_id=discount.referral.friend.public_id,
            issued_at=discount.created_at, used_at=discount.used_at,
            used_order_id=discount.used_order.external_id if discount.used_by_shop_id == shop.pk else None,
        )  # fmt: skip
    terms = programme_discount_terms(ReferralProgramme.load())
    referral_code = code_lookup(code=normalised) if terms else None
    if terms is None or referral_code is None:
        return None
    valid = terms.usable_in(shop.currency) and (not email or _first_order_possible(referral_code, email))
    return _answer(
        code=referral_code.code, terms=terms, valid=valid, status=FriendDiscountStatus.ISSUED, expires_at=None,
        member_id=None, issued_at=referral_code.created_at, used_at=None, used_order_id=None,
    )  # fmt: skip


def _first_order_possible(referral_code: ReferralCode, email: str) -> bool:
    """The rules ``referral_attach_at_checkout`` applies, as far as an email can tell before the order."""
    if email_identity(email) == email_identity(referral_code.member.user.email) or mailbox_had_discount(email=email):
        return False
    member = Member.objects.filter(user__email=email_canonical(email)).first()
    if member is None:
        return True
    window = dt.timedelta(days=ReferralProgramme.load().attribution_days)
    return not (
        member.enrolled_at < timezone.now() - window
        or Referral.objects.filter(friend=member).exists()
        or Order.objects.filter(member=member).exists()
    )


def _answer(*, code: str, terms: DiscountTerms, **fields: Any) -> dict[str, Any]:
    return {
        "code": code,
        "kind": "friend_discount",
        "reward_id": None,
        "reward_name": terms.describe(),
        "how_to_use": _("Enter the code at checkout. One use per new customer."),
        "discount": terms.as_data(),
        **fields,
    }
