"""Rewards and vouchers: spend points on a reward, use the voucher at a shop, cancel an unused one.

Lock order, everywhere: the member's ``PointsAccount`` (``account_lock``), then the ``Reward``, then
the ``Voucher``. ``voucher_use`` locks only the voucher, so it cannot deadlock with the others.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from loyalty.errors import (
    InsufficientPoints,
    RewardLimitReached,
    RewardOutOfStock,
    RewardUnavailable,
    TierNotAllowed,
    VoucherAlreadyUsed,
    VoucherCancelled,
    VoucherExpired,
    VoucherNotCancellable,
    VoucherNotFound,
)
from loyalty.events import PointsChanged, RewardRedeemed, emit
from loyalty.ledger import account_lock, ledger_append
from loyalty.models import (
    VOUCHER_ALPHABET,
    VOUCHER_CODE_LENGTH,
    EntryKind,
    Reward,
    Shop,
    Voucher,
    VoucherStatus,
)
from members.models import Member

_CODE_ATTEMPTS = 5
_SEPARATORS = re.compile(r"[\s-]+")


def voucher_code_generate() -> str:
    """A fresh random code: 10 characters from 31 (about 50 bits), no look-alike characters."""
    return "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(VOUCHER_CODE_LENGTH))


def voucher_code_normalise(code: str) -> str:
    """Codes are case-insensitive and may be typed with spaces or dashes."""
    return _SEPARATORS.sub("", code or "").upper()


def reward_redeem(*, member: Member, reward: Reward, request_key: str = "") -> Voucher:
    """Spend the reward's points and issue a voucher, all or nothing.

    ``request_key`` makes a redemption idempotent: the same member and key again (a double click,
    a resent form) returns the first voucher and spends nothing more.

    Refuses with ``reward_unavailable`` (switched off or outside its period), ``tier_not_allowed``,
    ``reward_limit_reached`` (the member's not-cancelled vouchers for it), ``reward_out_of_stock``
    or ``insufficient_points``; nothing is written then.
    """
    with transaction.atomic():
        account = account_lock(member=member)
        if request_key:
            earlier = Voucher.objects.filter(member_id=account.member_id, request_key=request_key).first()
            if earlier is not None:
                return earlier
        reward = Reward.objects.select_for_update().get(pk=reward.pk)
        now = timezone.now()
        if not reward.is_available_at(now):
            raise RewardUnavailable()
        allowed_tiers = set(reward.allowed_tiers.values_list("pk", flat=True))
        if allowed_tiers and account.tier_id not in allowed_tiers:
            raise TierNotAllowed()
        if reward.limit_per_member is not None:
            held = (
                Voucher.objects.filter(member_id=account.member_id, reward=reward)
                .exclude(status=VoucherStatus.CANCELLED)
                .count()
            )
            if held >= reward.limit_per_member:
                raise RewardLimitReached()
        if reward.stock is not None and reward.stock <= 0:
            raise RewardOutOfStock()
        if account.balance < reward.points_cost:
            raise InsufficientPoints()

        code = voucher_code_generate()
        entry = ledger_append(
            account=account,
            kind=EntryKind.REDEEM,
            points=-reward.points_cost,
            reason=f"Reward: {reward.name}"[:255],
            detail={"reward_id": reward.pk, "reward": reward.name, "voucher": code},
        )
        # Under the reward's row lock; the condition (and the CHECK constraint) guard the stock anyway.
        if reward.stock is not None and not Reward.objects.filter(pk=reward.pk, stock__gt=0).update(
            stock=F("stock") - 1
        ):
            raise RewardOutOfStock()
        voucher = _voucher_create(
            code=code,
            reward=reward,
            member_id=account.member_id,
            points=reward.points_cost,
            entry=entry,
            request_key=request_key,
        )
        emit(
            PointsChanged(entry=entry, member_public_id=account.member.public_id),
            RewardRedeemed(member=account.member, reward=reward, voucher=voucher),
        )
        return voucher


def _voucher_create(*, code: str, reward: Reward, member_id: int, points: int, entry: Any, request_key: str) -> Voucher:
    for attempt in range(_CODE_ATTEMPTS):
        if attempt:
            code = voucher_code_generate()
        if Voucher.objects.filter(code=code).exists():
            continue
        try:
            with transaction.atomic():
                return Voucher.objects.create(
                    code=code,
                    reward=reward,
                    member_id=member_id,
                    points=points,
                    redeem_entry=entry,
                    request_key=request_key,
                )
        except IntegrityError:
            if not Voucher.objects.filter(code=code).exists():
                raise
    raise RuntimeError("Could not find a free voucher code.")  # pragma: no cover - 31**10 codes


def voucher_use(*, shop: Shop, code: str, order_id: str) -> tuple[Voucher, bool]:
    """Mark the voucher used on ``order_id`` at ``shop``. Returns ``(voucher, created)``.

    Idempotent: the same shop and order again returns the voucher with ``created=False``. Another
    order (or shop) gets ``voucher_already_used``; a cancelled voucher ``voucher_cancelled``; an
    unknown code ``voucher_not_found``.
    """
    normalised = voucher_code_normalise(code)
    with transaction.atomic():
        voucher = (
            Voucher.objects.select_for_update(of=("self",))
            .select_related("reward", "member", "used_by_shop")
            .filter(code=normalised)
            .first()
        )
        if voucher is None:
            raise VoucherNotFound()
        if voucher.status == VoucherStatus.USED:
            if voucher.used_by_shop_id == shop.pk and voucher.used_order_id == order_id:
                return voucher, False
            raise VoucherAlreadyUsed()
        if voucher.status == VoucherStatus.CANCELLED:
            raise VoucherCancelled()
        if voucher.is_expired:
            raise VoucherExpired()
        voucher.status = VoucherStatus.USED
        voucher.used_at = timezone.now()
        voucher.used_by_shop = shop
        voucher.used_order_id = order_id
        voucher.save(update_fields=["status", "used_at", "used_by_shop", "used_order_id"])
        return voucher, True


def voucher_cancel(*, voucher: Voucher, staff: Any) -> tuple[Voucher, bool]:
    """Cancel an unused voucher: give the member its points back and return it to stock.

    Returns ``(voucher, cancelled)``; a voucher already cancelled is returned unchanged with
    ``cancelled=False`` (points come back exactly once). A used voucher raises
    ``voucher_not_cancellable``. A win-back code cost nothing: cancelling it only makes it unusable.
    """
    if voucher.reward_id is None:
        return _winback_code_cancel(voucher=voucher, staff=staff)
    with transaction.atomic():
        account = account_lock(member=voucher.member_id)
        reward = Reward.objects.select_for_update().get(pk=voucher.reward_id)
        voucher = Voucher.objects.select_for_update(of=("self",)).select_related("redeem_entry").get(pk=voucher.pk)
        if voucher.status == VoucherStatus.CANCELLED:
            return voucher, False
        if voucher.status != VoucherStatus.ISSUED:
            raise VoucherNotCancellable()
        entry = ledger_append(
            account=account,
            kind=EntryKind.ADJUST,
            points=voucher.points,
            staff=staff,
            reason=f"Voucher {voucher.code} cancelled"[:255],
            corrects=voucher.redeem_entry,
            detail={"reward_id": reward.pk, "reward": reward.name, "voucher": voucher.code},
        )
        if reward.stock is not None:
            Reward.objects.filter(pk=reward.pk).update(stock=F("stock") + 1)
        voucher.status = VoucherStatus.CANCELLED
        voucher.cancelled_at = timezone.now()
        voucher.cancelled_by = staff
        voucher.cancel_entry = entry
        voucher.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_entry"])
        emit(PointsChanged(entry=entry, member_public_id=account.member.public_id))
        return voucher, True


def _winback_code_cancel(*, voucher: Voucher, staff: Any) -> tuple[Voucher, bool]:
    with transaction.atomic():
        voucher = Voucher.objects.select_for_update().get(pk=voucher.pk)
        if voucher.status == VoucherStatus.CANCELLED:
            return voucher, False
        if voucher.status != VoucherStatus.ISSUED:
            raise VoucherNotCancellable()
        voucher.status = VoucherStatus.CANCELLED
        voucher.cancelled_at = timezone.now()
        voucher.cancelled_by = staff
        voucher.save(update_fields=["status", "cancelled_at", "cancelled_by"])
        return voucher, True
