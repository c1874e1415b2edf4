"""Points spent at a shop's checkout: reserve, capture, release, and the codes an order carries.

A reservation debits the points at once (a ``redeem`` entry, the hold) and gives the shop a single-use code to
apply as its discount. The order captures it (``redemption_capture``, or a code on the order); an abandoned
checkout releases it (``redemption_release``, or ``redemptions_expire`` once its time is up), crediting the
points back into the lots they came from (a ``return`` entry correcting the hold). A refund of a captured order
gives back its share (``redemption_return``).

Lock order, everywhere: the member's ``PointsAccount`` (``account_lock``), then the ``Redemption``. Capturing
locks only the redemption, so it cannot deadlock with the others; a capture and a release racing each other
queue on the redemption's row and exactly one of them changes it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import secrets
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty.errors import (
    BelowMinimum,
    ExceedsOrderShare,
    InsufficientPoints,
    LoyaltyError,
    NotAStep,
    RedemptionCaptured,
    RedemptionNotFound,
    RedemptionReleased,
)
from loyalty.events import PointsChanged, emit
from loyalty.idempotency import IdempotencyKey, idempotent
from loyalty.ledger import account_lock, ledger_append
from loyalty.models import (
    REDEMPTION_CODE_LENGTH,
    REDEMPTION_CODE_PREFIX,
    VOUCHER_ALPHABET,
    EntryKind,
    LedgerEntry,
    PointsAccount,
    Programme,
    Redemption,
    RedemptionStatus,
    Shop,
    Voucher,
)
from loyalty.rewards.catalogue import voucher_code_normalise, voucher_use
from members.models import Member

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
EXPIRE_BATCH = 500


@dataclass(frozen=True)
class CheckoutTerms:
    """What points are worth at one shop's checkout and how they may be spent there."""

    currency: str
    point_value: Decimal  # in the shop's currency
    min_points: int
    step_points: int
    max_share: int  # percent of an order

    def points_for(self, amount: Decimal) -> int:
        """The most points that pay at most ``amount``: converted at the point value, rounded down to a step."""
        points = int((amount / self.point_value).to_integral_value(rounding=ROUND_DOWN))
        if points < self.min_points:
            raise BelowMinimum(
                _("%(amount)s %(currency)s is less than the smallest redemption, %(points)s points.")
                % {"amount": amount, "currency": self.currency, "points": self.min_points},
                field="amount",
            )
        return points - (points - self.min_points) % self.step_points

    def amount_for(self, points: int) -> Decimal:
        """What ``points`` pay, rounded down to the cent (a shop never gives more than the points are worth)."""
        return (self.point_value * points).quantize(CENT, rounding=ROUND_DOWN)

    def points_check(self, points: int) -> None:
        if points < self.min_points:
            raise BelowMinimum(
                _("Spend at least %(points)s points at a time.") % {"points": self.min_points}, field="points"
            )
        if (points - self.min_points) % self.step_points:
            raise NotAStep(
                _("Spend %(min)s points, or more in steps of %(step)s.")
                % {"min": self.min_points, "step": self.step_points},
                field="points",
            )

    def share_check(self, *, amount: Decimal, order_amount: Decimal | None) -> None:
        if order_amount is None:
            return
        limit = (order_amount * self.max_share / 100).quantize(CENT, rounding=ROUND_DOWN)
        if amount > limit:
            raise ExceedsOrderShare(
                _("Points may pay at most %(share)s%% of the order, %(limit)s %(currency)s.")
                % {"share": self.max_share, "limit": limit, "currency": self.currency},
                field="points",
            )

    def as_data(self) -> dict[str, Any]:
        return {"currency": self.currency, "point_value": str(self.point_value), "min_points": self.min_points,
                "step_points": self.step_points, "max_share": self.max_share}  # fmt: skip


def checkout_terms(*, shop: Shop | None, programme: Programme) -> CheckoutTerms:
    """The programme's checkout terms with the shop's own value and share where it sets them."""
    return CheckoutTerms(
        currency=shop.currency if shop else programme.currency,
        point_value=(shop.point_value if shop and shop.point_value else None) or programme.point_value,
        min_points=programme.redeem_min_points,
        step_points=programme.redeem_step_points,
        max_share=(shop.redeem_max_share if shop and shop.redeem_max_share else None) or programme.redeem_max_share,
    )


@dataclass(frozen=True)
class RedemptionResult:
    redemption: Redemption
    created: bool  # False: a replay (reserve) or nothing left to do (capture, release)


def redemption_reserve(
    *,
    shop: Shop,
    redemption_id: str,
    member: Member,
    points: int | None = None,
    amount: Decimal | None = None,
    order_amount: Decimal | None = None,
) -> RedemptionResult:
    """Reserve ``points`` (or the most points ``amount`` buys, rounded down to a step) for a checkout.

    Idempotent by ``(shop, redemption_id)``: the same request again returns the first redemption; other data
    raises ``IdempotencyConflict``. Refuses with ``below_minimum``, ``not_a_step``, ``exceeds_order_share``
    (given the order's amount) or ``insufficient_points``; nothing is written then.
    """
    if (points is None) == (amount is None):
        raise ValueError("Give points or amount, not both.")
    canonical = {"redemption_id": redemption_id, "member": member.pk, "points": points,
                 "amount": None if amount is None else str(amount.quantize(CENT)),
                 "order_amount": None if order_amount is None else str(order_amount.quantize(CENT))}  # fmt: skip
    key = IdempotencyKey(
        find=lambda: Redemption.objects.filter(shop=shop, external_id=redemption_id).first(),
        fingerprint=hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest(),
        subject=f"Redemption {redemption_id}",
        field="redemption_id",
    )
    return idempotent(
        key=key,
        record=lambda: _reserve(
            shop=shop,
            redemption_id=redemption_id,
            member=member,
            points=points,
            amount=amount,
            order_amount=order_amount,
            key=key,
        ),
        replay=lambda existing: RedemptionResult(redemption=existing, created=False),
    )


def _reserve(
    *,
    shop: Shop,
    redemption_id: str,
    member: Member,
    points: int | None,
    amount: Decimal | None,
    order_amount: Decimal | None,
    key: IdempotencyKey[Redemption],
) -> RedemptionResult:
    programme = Programme.load()
    terms = checkout_terms(shop=shop, programme=programme)
    if points is None:
        assert amount is not None
        points = terms.points_for(amount)
    terms.points_check(points)
    value = terms.amount_for(points)
    terms.share_check(amount=value, order_amount=order_amount)
    with transaction.atomic():
        account = account_lock(member=member)
        if (existing := key.prior()) is not None:  # reserved while this one waited for the lock
            return RedemptionResult(redemption=existing, created=False)
        if account_spendable(account) < points:
            raise InsufficientPoints(
                _("The member has %(spendable)s points to spend.") % {"spendable": max(account_spendable(account), 0)}
            )
        now = timezone.now()
        entry = ledger_append(
            account=account,
            kind=EntryKind.REDEEM,
            points=-points,
            reason=f"Checkout at {shop.name}"[:255],
            detail={"shop": shop.slug, "redemption_id": redemption_id},
            programme=programme,
        )
        redemption = Redemption.objects.create(
            shop=shop,
            external_id=redemption_id,
            member=member,
            code=redemption_code_generate(),
            points=points,
            amount=value,
            currency=terms.currency,
            hold_entry=entry,
            expires_at=now + dt.timedelta(minutes=programme.reservation_minutes),
            fingerprint=key.fingerprint,
            created_at=now,
        )
        redemption.response = redemption_data(redemption)
        redemption.save(update_fields=["response"])
        emit(PointsChanged(entry=entry, member_public_id=member.public_id))
    return RedemptionResult(redemption=redemption, created=True)


def account_spendable(account: PointsAccount) -> int:
    """What the locked account may spend now: its balance less the points still pending."""
    return account.balance - account.pending


def redemption_data(redemption: Redemption) -> dict[str, Any]:
    """A redemption as the shop API answers it (stored on the row: a replay answers what the first did)."""
    return {
        "redemption_id": redemption.external_id,
        "code": redemption.code,
        "points": redemption.points,
        "amount": str(redemption.amount),
        "currency": redemption.currency,
        "status": redemption.status,
        "expires_at": redemption.expires_at.isoformat().replace("+00:00", "Z"),
        "order_id": redemption.order_id or None,
    }


def redemption_code_generate() -> str:
    """A fresh checkout code: the prefix and 12 characters from the voucher alphabet (about 60 bits)."""
    return REDEMPTION_CODE_PREFIX + "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(REDEMPTION_CODE_LENGTH))


def redemption_capture(*, shop: Shop, redemption_id: str, order_id: str) -> RedemptionResult:
    """The checkout became order ``order_id``: the reserved points stay spent.

    Idempotent: capturing again for the same order changes nothing (``created=False``). Raises
    ``redemption_not_found``, ``redemption_released`` (it was released; its points went back), or
    ``redemption_captured`` (captured for another order). A reservation past its time that the expiry job
    has not released yet is still held, and is captured.
    """
    with transaction.atomic():
        redemption = Redemption.objects.select_for_update().filter(shop=shop, external_id=redemption_id).first()
        if redemption is None:
            raise RedemptionNotFound()
        return _capture(redemption=redemption, order_id=order_id)


def _capture(*, redemption: Redemption, order_id: str) -> RedemptionResult:
    """Capture the locked ``redemption`` for ``order_id``."""
    if redemption.status == RedemptionStatus.RELEASED:
        raise RedemptionReleased()
    if redemption.status == RedemptionStatus.CAPTURED:
        if redemption.order_id == order_id:
            return RedemptionResult(redemption=redemption, created=False)
        raise RedemptionCaptured(
            _("This redemption was captured for order %(order)s.") % {"order": redemption.order_id}, field="order_id"
        )
    redemption.status = RedemptionStatus.CAPTURED
    redemption.order_id = order_id
    redemption.captured_at = timezone.now()
    redemption.save(update_fields=["status", "order_id", "captured_at"])
    return RedemptionResult(redemption=redemption, created=True)


def redemption_release(*, shop: Shop, redemption_id: str) -> RedemptionResult:
    """The checkout was abandoned: the reserved points go back to the member, into the lots they came from.

    Idempotent: releasing again changes nothing (``created=False``). Raises ``redemption_not_found`` or
    ``redemption_captured`` (the order was placed: its points stay spent; a refund gives them back).
    """
    member_id = (
        Redemption.objects.filter(shop=shop, external_id=redemption_id).values_list("member_id", flat=True).first()
    )
    if member_id is None:
        raise RedemptionNotFound()
    with transaction.atomic():
        account = account_lock(member=member_id)
        redemption = (
            Redemption.objects.select_for_update()
            .select_related("hold_entry")
            .get(shop=shop, external_id=redemption_id)
        )
        return _release(account=account, redemption=redemption, reason=f"Checkout at {shop.name} not completed")


def _release(*, account: PointsAccount, redemption: Redemption, reason: str) -> RedemptionResult:
    if redemption.status == RedemptionStatus.RELEASED:
        return RedemptionResult(redemption=redemption, created=False)
    if redemption.status == RedemptionStatus.CAPTURED:
        raise RedemptionCaptured()
    entry = _give_back(account=account, redemption=redemption, points=redemption.points, reason=reason)
    redemption.status = RedemptionStatus.RELEASED
    redemption.released_at = entry.created_at
    redemption.points_returned = redemption.points
    redemption.save(update_fields=["status", "released_at", "points_returned"])
    emit(PointsChanged(entry=entry, member_public_id=account.member.public_id))
    return RedemptionResult(redemption=redemption, created=True)


def _give_back(
    *, account: PointsAccount, redemption: Redemption, points: int, reason: str, **source: Any
) -> LedgerEntry:
    return ledger_append(
        account=account,
        kind=EntryKind.RETURN,
        points=points,
        restores=redemption.hold_entry,
        reason=reason[:255],
        detail={"shop": redemption.shop.slug, "redemption_id": redemption.external_id},
        **source,
    )


def redemptions_expire(*, now: dt.datetime | None = None, batch: int = EXPIRE_BATCH) -> int:
    """Release the reservations whose time is up, at most ``batch`` of them; returns how many it released.

    Each is released in its own transaction under the member's lock, so a capture racing it wins or loses
    cleanly, and running the job twice releases nothing twice.
    """
    now = now or timezone.now()
    due = list(
        Redemption.objects.filter(status=RedemptionStatus.RESERVED, expires_at__lte=now)
        .order_by("expires_at")
        .values_list("pk", "member_id")[:batch]
    )
    released = 0
    for pk, member_id in due:
        with transaction.atomic():
            account = account_lock(member=member_id)
            redemption = Redemption.objects.select_for_update().select_related("hold_entry", "shop").get(pk=pk)
            if redemption.status != RedemptionStatus.RESERVED:
                continue  # captured or released since the list was read
            _release(account=account, redemption=redemption, reason=f"Checkout at {redemption.shop.name} timed out")
            released += 1
    return released


@dataclass(frozen=True)
class CodesUsed:
    """What the codes on an order matched: Klubb checkout redemptions captured and vouchers marked used."""

    redemptions: tuple[str, ...] = ()
    vouchers: tuple[str, ...] = ()


def checkout_codes_use(*, shop: Shop, order_id: str, codes: list[str] | tuple[str, ...]) -> CodesUsed:
    """Capture the checkout redemptions and use the vouchers whose codes the order carries.

    Runs inside the order's transaction. The shop's own discount codes match nothing and are left alone; a
    code that can no longer be used (released, used on another order) is logged, not fatal: the order stands.
    """
    normalised = {voucher_code_normalise(code) for code in codes if code}
    if not normalised:
        return CodesUsed()
    redemptions: list[str] = []
    vouchers: list[str] = []
    for redemption in Redemption.objects.select_for_update().filter(shop=shop, code__in=normalised).order_by("pk"):
        try:
            _capture(redemption=redemption, order_id=order_id)
            redemptions.append(redemption.external_id)
        except LoyaltyError as error:
            logger.warning(
                "Order %s at %s carries checkout code %s: %s", order_id, shop.slug, redemption.code, error.code
            )
    for code in Voucher.objects.filter(code__in=normalised).values_list("code", flat=True):
        try:
            voucher_use(shop=shop, code=code, order_id=order_id)
            vouchers.append(code)
        except LoyaltyError as error:
            logger.warning("Order %s at %s carries voucher %s: %s", order_id, shop.slug, code, error.code)
    return CodesUsed(redemptions=tuple(redemptions), vouchers=tuple(vouchers))


def checkout_spenders(*, shop: Shop, order_id: str) -> list[int]:
    """The members whose captured checkout points paid for an order (read only: to lock their accounts first)."""
    captured = Redemption.objects.filter(shop=shop, order_id=order_id, status=RedemptionStatus.CAPTURED)
    return list(captured.values_list("member_id", flat=True).distinct())


def order_redemptions(*, shop: Shop, order_id: str) -> list[Redemption]:
    """The checkout redemptions captured for an order, locked (a refund gives back their share)."""
    return list(
        Redemption.objects.select_for_update()
        .select_related("hold_entry", "shop", "member")
        .filter(shop=shop, order_id=order_id, status=RedemptionStatus.CAPTURED)
        .order_by("pk")
    )


def redemption_return(
    *, account: PointsAccount, redemption: Redemption, points: int, **source: Any
) -> LedgerEntry | None:
    """Give back ``points`` of a captured ``redemption`` (a refund's share) to its member's locked account,
    into the lots they came from. Never more than the redemption has left to give back."""
    points = min(points, redemption.points - redemption.points_returned)
    if points <= 0:
        return None
    entry = _give_back(
        account=account, redemption=redemption, points=points,
        reason=f"Order {redemption.order_id} at {redemption.shop.name} refunded", **source,
    )  # fmt: skip
    redemption.points_returned += points
    redemption.save(update_fields=["points_returned"])
    return entry
