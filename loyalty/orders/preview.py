"""What an order would earn now, for a shop's product and cart pages ("earn 120 points"): nothing is written.

The same validation and the same ``earning_points`` as recording the order, with the member's tier and the
points their capped rules already gave; without a member (or for a customer who is not one yet), as a new
member at the entry tier. Recording the same order right after earns exactly this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from django.utils import timezone

from loyalty.campaigns import RuleSpec, earning_points, earning_rules_active, earning_rules_used
from loyalty.errors import LoyaltyError
from loyalty.ledger import entry_tier, tiers_by_threshold
from loyalty.models import PointsAccount, Shop, Tier
from loyalty.orders.record import order_programme, order_terms_validate
from loyalty.orders.types import OrderItem
from loyalty.shops import MemberRef, member_account_find
from members.models import Member


@dataclass(frozen=True)
class PreviewLine:
    rule: str  # "base", "tier", or an earning rule's name
    points: int


@dataclass(frozen=True)
class EarningPreview:
    points: int
    lines: tuple[PreviewLine, ...]
    tier: str | None

    def as_data(self) -> dict[str, Any]:
        return asdict(self)


def earning_preview(
    *,
    shop: Shop,
    member: MemberRef | None,
    amount: Decimal,
    currency: str,
    tax: Decimal = Decimal("0"),
    items: Sequence[OrderItem] = (),
    at: dt.datetime | None = None,
    customer_tags: Sequence[str] = (),
) -> EarningPreview:
    """The points an order of ``amount`` would earn at ``at`` (now), line by line. Raises what recording the
    order would raise for its amount and currency (``CurrencyMismatch``, ``AmountOutOfRange``, ...)."""
    at = at or timezone.now()
    programme = order_programme()
    order_terms_validate(shop=shop, programme=programme, amount=amount, tax=tax, currency=currency, occurred_at=at)
    rules = earning_rules_active(at=at)
    found = member_account_find(shop=shop, ref=member) if member is not None else None
    if found is None:
        tier, used = entry_tier(), {}
    else:
        tier = _kept_tier(tier_id=found.tier_id) if found.has_account else entry_tier()
        used = earning_rules_used(member_id=found.member_id, rules=rules)
    earning = earning_points(
        programme=programme, shop=shop, amount=amount, tax=tax, tier=tier, at=at, rules=rules, used=used,
        items=[item.as_line() for item in items], customer_tags=customer_tags,
    )  # fmt: skip
    lines = [PreviewLine(rule="base", points=earning.base_points)]
    if earning.tier_total != earning.base_points:
        lines.append(PreviewLine(rule="tier", points=earning.tier_total - earning.base_points))
    lines += [PreviewLine(rule=str(line.name), points=line.points) for line in earning.rules if line.points]
    return EarningPreview(points=earning.points, lines=tuple(lines), tier=earning.tier)


def _kept_tier(*, tier_id: int | None) -> Tier | None:
    """The tier with ``tier_id`` as this process keeps the tiers (``tiers_by_threshold``): a change staff make to a
    tier reaches the preview within ``SNAPSHOT_SECONDS``, as the programme and the earning rules it reads do."""
    return next((tier for tier in tiers_by_threshold() if tier.pk == tier_id), None)


def _tier_and_used(*, member: Member | None, rules: Sequence[RuleSpec]) -> tuple[Tier | None, dict[int, int]]:
    """The tier ``member`` earns at (the entry tier for no member) and what their capped rules already gave."""
    if member is None:
        return entry_tier(), {}
    account = PointsAccount.objects.select_related("tier").filter(member=member).first()
    tier = account.tier if account is not None else entry_tier()
    return tier, earning_rules_used(member_id=member.pk, rules=rules)


@dataclass(frozen=True)
class BadgeItem:
    """A product on a shop's page: its price in the shop's currency, and its category and SKU where known."""

    price: Decimal
    category: str = ""
    sku: str = ""


def earning_badges(
    *, shop: Shop, member: Member | None, items: Sequence[BadgeItem], at: dt.datetime | None = None
) -> list[int | None]:
    """What buying each item alone would earn now, for "Earn N points" badges on product pages: for each,
    exactly the points ``earning_preview`` gives a one-item order of it, for ``member`` (or a new member at the
    entry tier). ``None`` for a price the club would refuse as an order. One set of queries for the whole page.
    """
    at = at or timezone.now()
    programme = order_programme()
    rules = earning_rules_active(at=at)
    tier, used = _tier_and_used(member=member, rules=rules)
    badges: list[int | None] = []
    for item in items:
        try:
            order_terms_validate(
                shop=shop, programme=programme, amount=item.price, tax=Decimal("0"), currency=shop.currency,
                occurred_at=at,
            )  # fmt: skip
        except LoyaltyError:
            badges.append(None)
            continue
        line = OrderItem(sku=item.sku, category=item.category, quantity=1, unit_price=item.price).as_line()
        earning = earning_points(
            programme=programme, shop=shop, amount=item.price, tax=Decimal("0"), tier=tier, at=at, rules=rules,
            used=used, items=[line], customer_tags=(),
        )  # fmt: skip
        badges.append(earning.points)
    return badges
