"""Tiers: the one rule that places members (``rules``) and the two ways it runs (``placement``).

- ``rules``: qualifying points in the window, the tier they reach, ``TierRule`` (lift and the review).
- ``placement``: ``tier_evaluate`` (an order lifts its member), ``tier_review`` (the nightly job) and
  ``pending_points_confirm`` (the job that makes pending points spendable, and counts towards tiers the orders
  whose tier points waited for it).

Live orders, the nightly review and the order history import all apply ``TierRule``; each returns the moves
it made as ``TierChanged`` events for its caller to emit. History (``TierChange`` rows), the tier webhook and
the tier messages subscribe to those events.
"""

from __future__ import annotations

from loyalty.ledger import entry_tier, tiers_by_threshold
from loyalty.tiers.placement import pending_points_confirm, tier_evaluate, tier_review
from loyalty.tiers.rules import TierRule, tier_for_points, tier_points, tier_points_many, tier_window_start

__all__ = [
    "TierRule",
    "entry_tier",
    "pending_points_confirm",
    "tier_evaluate",
    "tier_for_points",
    "tier_points",
    "tier_points_many",
    "tier_review",
    "tier_window_start",
    "tiers_by_threshold",
]
