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
    from django.db.models import QuerySet

    from loyalty.models import Order, Refund, Shop
    from loyalty.orders import OrderInput
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


# --- The staff dashboard's referral funnel ----------------------------------------------------------------
# ``referrals`` registers a provider of ``[(step label, count), ...]`` for a period.

FunnelProvider = Callable[[Any, Any], list[tuple[str, int]]]
_dashboard_funnel: list[FunnelProvider] = []


def on_dashboard_funnel(provider: FunnelProvider) -> None:
    if provider not in _dashboard_funnel:
        _dashboard_funnel.append(provider)


def dashboard_funnel(*, start: Any, end: Any) -> list[tuple[str, int]]:
    return [row for provider in _dashboard_funnel for row in provider(start, end)]


# --- Segments' referral filter ----------------------------------------------------------------------------
# ``referrals`` registers a provider of two querysets of member ids (``.values("...")`` of one column): the
# members who referred a friend, and the members who joined through a referral. Without one, nobody did.

SegmentReferralsProvider = Callable[[], tuple["QuerySet[Any]", "QuerySet[Any]"]]
_segment_referrals: list[SegmentReferralsProvider] = []


def on_segment_referrals(provider: SegmentReferralsProvider) -> None:
    if provider not in _segment_referrals:
        _segment_referrals.append(provider)


def segment_referrals() -> list[tuple[QuerySet[Any], QuerySet[Any]]]:
    """Per provider: ``(ids of members who referred someone, ids of members who were referred)``."""
    return [provider() for provider in _segment_referrals]


# --- A member's invitation link ---------------------------------------------------------------------------
# ``referrals`` registers a provider of the path of the member's invitation link (``/r/<code>/``), or ``None``
# while the referral programme is off; the storefront widget shows it. Without one, there is no link.

ReferralPathProvider = Callable[["Member"], "str | None"]
_referral_path: list[ReferralPathProvider] = []


def on_referral_path(provider: ReferralPathProvider) -> None:
    if provider not in _referral_path:
        _referral_path.append(provider)


def referral_path(*, member: Member) -> str | None:
    return next((path for provider in _referral_path if (path := provider(member))), None)


# --- Codes the voucher API checks that are not vouchers ---------------------------------------------------
# ``referrals`` registers a provider of the voucher API's answer (``VoucherSerializer``'s fields) for a friend's
# discount code, given the code, the asking shop and the customer's email ("" when not given), or ``None`` for
# a code it does not know. ``GET /api/v1/vouchers/{code}/`` asks when no voucher has the code.

VoucherLookup = Callable[[str, "Shop", str], "dict[str, Any] | None"]
_voucher_lookup: list[VoucherLookup] = []


def on_voucher_lookup(provider: VoucherLookup) -> None:
    if provider not in _voucher_lookup:
        _voucher_lookup.append(provider)


def voucher_lookup(*, code: str, shop: Shop, email: str) -> dict[str, Any] | None:
    return next((answer for provider in _voucher_lookup if (answer := provider(code, shop, email))), None)


# --- The demo's data (``manage.py seed_demo``) --------------------------------------------------------------
# ``referrals`` registers a seeder of its part of the demo (friends referred, one waiting in the review queue),
# called once, inside the demo's transaction, after the members and their orders are in place.

DemoSeeder = Callable[..., None]
_demo_seeders: list[DemoSeeder] = []


def on_demo_seed(seeder: DemoSeeder) -> None:
    if seeder not in _demo_seeders:
        _demo_seeders.append(seeder)


def demo_seed(*, now: Any, shops: Any, staff: Any) -> None:
    for seeder in _demo_seeders:
        seeder(now=now, shops=shops, staff=staff)
