"""Points where other apps join the points engine's transactions without ``loyalty`` importing them.

``referrals`` registers here (in its ``AppConfig.ready``) to qualify a referral when the friend's order
is recorded, to reject it when that order is refunded, and to attach a shop-enrolled member to a
referral code. Hooks run inside the service's transaction, after the ledger entry and under the
member's account lock: what they write commits or rolls back with the order, and an error they raise
(a ``LoyaltyError``) refuses the whole request.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loyalty.models import Order, Refund, Shop
    from loyalty.services.orders import OrderInput
    from members.models import Member

OrderHook = Callable[["Order", "OrderInput"], None]
RefundHook = Callable[["Refund"], None]
EnrolHook = Callable[["Member", bool, "Shop", dict[str, Any]], None]

_order_recorded: list[OrderHook] = []
_refund_recorded: list[RefundHook] = []
_member_enrolled: list[EnrolHook] = []


def on_order_recorded(hook: OrderHook) -> None:
    if hook not in _order_recorded:
        _order_recorded.append(hook)


def on_refund_recorded(hook: RefundHook) -> None:
    if hook not in _refund_recorded:
        _refund_recorded.append(hook)


def on_member_enrolled(hook: EnrolHook) -> None:
    if hook not in _member_enrolled:
        _member_enrolled.append(hook)


def order_recorded(*, order: Order, order_input: OrderInput) -> None:
    for hook in _order_recorded:
        hook(order, order_input)


def refund_recorded(*, refund: Refund) -> None:
    for hook in _refund_recorded:
        hook(refund)


def member_enrolled(*, member: Member, created: bool, shop: Shop, extra: dict[str, Any]) -> None:
    for hook in _member_enrolled:
        hook(member, created, shop, extra)
