"""How many points an order earns: the base rate, the tier multiplier and the campaign rules.

``earning_points`` is a pure function of its arguments (no queries), so the order service and the admin's
preview compute the same thing. ``earning_rules_active`` loads the rules in force at a moment.

How rules stack, in this order (the order's ledger entry lists every step in ``detail``):

0. **Lines that never earn** (gift cards, and the categories and SKUs the programme excludes) take their share
   of the qualifying amount with them, and no rule sees them.
1. **Base points** = qualifying amount x rate, rounded down (none below the programme's smallest amount that
   earns). Only these count towards tiers.
2. **Tier multiplier**: base amount x rate x the member's tier multiplier, rounded down.
3. **Multiplier rules**, by priority (lowest first), then age: each adds
   ``floor(covered amount x rate x (multiplier - 1))``, where the covered amount is the share of the order
   in the rule's categories or SKUs (all of it when the rule names none). Multipliers add up; they do not
   multiply each other or the tier multiplier ("double points" on a Gold order gives Gold points plus one
   more helping of base points).
4. **Fixed bonuses**, in the same order: the rule's points, once per order.
5. **Caps**: a rule with a cap per member gives at most what is left of its cap for that member.

A rule applies when it is active, the order happened in ``[starts_at, ends_at)``, the member's tier and the
shop are among the rule's (or the rule names none), the order amount reaches its minimum, and, when the rule
names categories or SKUs, at least one item matches.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.db.models import F, Sum

from config.snapshots import Snapshot
from loyalty.models import AmountBasis, EarningRule, EarningRuleUse, Programme, RuleKind, Shop, Tier, codes_parse


@dataclass(frozen=True)
class ItemLine:
    """What the rules look at in an order line."""

    sku: str = ""
    category: str = ""
    quantity: int = 1
    unit_price: Decimal = Decimal("0")
    gift_card: bool = False

    @property
    def total(self) -> Decimal:
        return Decimal(self.quantity) * Decimal(self.unit_price)

    def never_earns(self, *, categories: frozenset[str], skus: frozenset[str]) -> bool:
        """A gift card (money, not goods), or a category or SKU staff set never to earn."""
        return self.gift_card or self.category.casefold() in categories or self.sku.casefold() in skus


@dataclass(frozen=True)
class RuleSpec:
    """An earning rule as the pure function needs it (no lazy relations)."""

    id: int
    name: str
    kind: str
    multiplier: Decimal = Decimal("1")
    bonus_points: int = 0
    priority: int = 100
    starts_at: dt.datetime | None = None
    ends_at: dt.datetime | None = None
    tier_ids: frozenset[int] = frozenset()
    shop_ids: frozenset[int] = frozenset()
    categories: frozenset[str] = frozenset()
    skus: frozenset[str] = frozenset()
    min_order_amount: Decimal | None = None
    cap_per_member: int | None = None

    @classmethod
    def from_rule(cls, rule: EarningRule) -> RuleSpec:
        return cls(
            id=rule.pk,
            name=rule.name,
            kind=rule.kind,
            multiplier=rule.multiplier,
            bonus_points=rule.bonus_points,
            priority=rule.priority,
            starts_at=rule.starts_at,
            ends_at=rule.ends_at,
            tier_ids=frozenset(t.pk for t in rule.tiers.all()),
            shop_ids=frozenset(s.pk for s in rule.shops.all()),
            categories=codes_parse(rule.categories),
            skus=codes_parse(rule.skus),
            min_order_amount=rule.min_order_amount,
            cap_per_member=rule.cap_per_member,
        )

    def in_force(self, at: dt.datetime) -> bool:
        """Whether ``at`` falls in the rule's period ``[starts_at, ends_at)``."""
        return (self.starts_at is None or self.starts_at <= at) and (self.ends_at is None or at < self.ends_at)

    def covers(self, item: ItemLine) -> bool:
        if not self.categories and not self.skus:
            return True
        return item.category.casefold() in self.categories or item.sku.casefold() in self.skus


@dataclass(frozen=True)
class RuleLine:
    rule_id: int
    name: str
    kind: str
    points: int
    covered_amount: Decimal
    capped: bool = False

    def as_detail(self) -> dict[str, Any]:
        return {
            "rule": self.rule_id,
            "name": self.name,
            "kind": self.kind,
            "points": self.points,
            "covered_amount": str(self.covered_amount),
            "capped": self.capped,
        }


@dataclass(frozen=True)
class EarningBreakdown:
    basis: Decimal
    rate: Decimal
    base_points: int
    tier: str | None
    tier_multiplier: Decimal
    tier_total: int
    rules: tuple[RuleLine, ...] = field(default_factory=tuple)
    excluded_tag: str | None = None  # the customer tag that made the order earn nothing

    @property
    def points(self) -> int:
        return self.tier_total + sum(line.points for line in self.rules)

    @property
    def tier_points(self) -> int:
        """What counts towards tiers: the base points only."""
        return self.base_points

    def detail(self) -> dict[str, Any]:
        return {
            "basis": str(self.basis),
            "rate": str(self.rate),
            "base_points": self.base_points,
            "tier": self.tier,
            "multiplier": str(self.tier_multiplier),
            "tier_total": self.tier_total,
            "rules": [line.as_detail() for line in self.rules if line.points],
            **({"excluded_tag": self.excluded_tag} if self.excluded_tag else {}),
        }


def earning_points(
    *,
    programme: Programme,
    shop: Shop,
    amount: Decimal,
    tax: Decimal,
    tier: Tier | None,
    at: dt.datetime,
    items: Sequence[ItemLine] = (),
    rules: Sequence[RuleSpec] = (),
    used: Mapping[int, int] | None = None,
    customer_tags: Sequence[str] = (),
    tier_name: str | None = None,
) -> EarningBreakdown:
    """The points an order earns, step by step (see the module's docstring for the order of the steps).

    ``used`` maps a rule id to the points it already gave this member (for caps). A customer with a tag the
    programme excludes (wholesale, staff) earns nothing at all: no base points, no tier multiplier, no campaign.
    ``tier_name``: ``tier.name`` when the caller has read it already (a translated field looks up the active
    language at each read; an import earns a million orders with a few tiers).
    """
    used = used or {}
    if tier_name is None and tier is not None:
        tier_name = tier.name
    excluded = codes_parse(programme.never_earning_customer_tags)
    if excluded_tag := next((tag for tag in customer_tags if tag.strip().casefold() in excluded), None):
        return EarningBreakdown(
            basis=Decimal("0"),
            rate=Decimal("0"),
            base_points=0,
            tier=tier_name,
            tier_multiplier=Decimal("1"),
            tier_total=0,
            excluded_tag=excluded_tag.strip(),
        )
    basis = amount - tax if programme.amount_basis == AmountBasis.EXCL_VAT else amount
    basis = max(basis, Decimal("0"))
    basis, items = _without_never_earning(programme=programme, basis=basis, items=items)
    rate = shop.points_per_unit if shop.points_per_unit is not None else programme.points_per_unit
    tier_multiplier = tier.multiplier if tier else Decimal("1")
    base = math.floor(basis * rate)
    tier_total = math.floor(basis * rate * tier_multiplier)
    if basis < programme.min_earning_amount:  # too small to earn: campaigns have minimums of their own
        base = tier_total = 0
    items_total = sum((item.total for item in items), Decimal("0"))

    applicable = [rule for rule in rules if _applies(rule, shop=shop, tier=tier, amount=amount, at=at, items=items)]
    ordered = sorted(applicable, key=lambda r: (r.kind != RuleKind.MULTIPLIER, r.priority, r.id))
    lines = []
    for rule in ordered:
        if rule.categories or rule.skus:
            covered_items = sum((item.total for item in items if rule.covers(item)), Decimal("0"))
            covered = (basis * covered_items / items_total).quantize(Decimal("0.01")) if items_total else Decimal(0)
        else:
            covered = basis
        if rule.kind == RuleKind.MULTIPLIER:
            points = math.floor(covered * rate * (rule.multiplier - 1))
        else:
            points = rule.bonus_points
        capped = False
        if rule.cap_per_member is not None:
            left = max(rule.cap_per_member - used.get(rule.id, 0), 0)
            if points > left:
                points, capped = left, True
        lines.append(
            RuleLine(
                rule_id=rule.id, name=rule.name, kind=rule.kind, points=points, covered_amount=covered, capped=capped
            )
        )
    return EarningBreakdown(
        basis=basis,
        rate=rate,
        base_points=base,
        tier=tier_name,
        tier_multiplier=tier_multiplier,
        tier_total=tier_total,
        rules=tuple(lines),
    )


def _without_never_earning(
    *, programme: Programme, basis: Decimal, items: Sequence[ItemLine]
) -> tuple[Decimal, Sequence[ItemLine]]:
    """The basis and the lines that earn: lines that never earn take their share of the amount with them."""
    categories, skus = codes_parse(programme.never_earning_categories), codes_parse(programme.never_earning_skus)
    earning = [item for item in items if not item.never_earns(categories=categories, skus=skus)]
    if len(earning) == len(items):
        return basis, items
    items_total = sum((item.total for item in items), Decimal("0"))
    if not items_total:
        return basis, earning
    share = sum((item.total for item in earning), Decimal("0")) / items_total
    return (basis * share).quantize(Decimal("0.01"), rounding=ROUND_DOWN), earning


def _applies(
    rule: RuleSpec, *, shop: Shop, tier: Tier | None, amount: Decimal, at: dt.datetime, items: Sequence[ItemLine]
) -> bool:
    if not rule.in_force(at):
        return False
    if rule.tier_ids and (tier is None or tier.pk not in rule.tier_ids):
        return False
    if rule.shop_ids and shop.pk not in rule.shop_ids:
        return False
    if rule.min_order_amount is not None and amount < rule.min_order_amount:
        return False
    return not ((rule.categories or rule.skus) and not any(rule.covers(item) for item in items))


def earning_rules_load() -> tuple[RuleSpec, ...]:
    """Every active rule, past and future ones included, read now (three queries however many rules)."""
    rules = EarningRule.objects.filter(is_active=True).prefetch_related("tiers", "shops")
    return tuple(RuleSpec.from_rule(rule) for rule in rules)


# Every order reads the rules; kept per process (config/snapshots.py): an edit reaches other processes within
# seconds. All active rules, past ones included: an order reported late or imported earns by its own date.
_active_rules = Snapshot(earning_rules_load, sources=[EarningRule])


def earning_rules_active(*, at: dt.datetime) -> list[RuleSpec]:
    """The active rules whose period contains ``at``."""
    return [rule for rule in _active_rules.get() if rule.in_force(at)]


def earning_rules_used(*, member_id: int, rules: Sequence[RuleSpec]) -> dict[int, int]:
    """Points each capped rule already gave the member and the member kept (read under the account lock)."""
    return earning_rules_used_many(member_ids=[member_id], rules=rules)[member_id]


def earning_rules_used_many(
    *, member_ids: Sequence[int], rules: Sequence[RuleSpec]
) -> defaultdict[int, dict[int, int]]:
    """Member -> capped rule -> points it gave them, less what refunds clawed back, in one query."""
    used: defaultdict[int, dict[int, int]] = defaultdict(dict)
    capped = [rule.id for rule in rules if rule.cap_per_member is not None]
    if capped:
        rows = (
            EarningRuleUse.objects.filter(member_id__in=member_ids, rule_id__in=capped)
            .values_list("member_id", "rule_id")
            .annotate(total=Sum(F("points") - F("clawed_back")))
        )
        for member_id, rule_id, total in rows:
            used[member_id][rule_id] = total
    return used
