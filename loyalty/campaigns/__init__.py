"""Campaigns: how points are earned beyond the base rate, and the programme's gifts.

- ``earning``: ``earning_points``, the points an order earns (base rate, tier multiplier, campaign rules and
  their caps); read by live orders, the import and the earning preview.
- ``actions``: points for actions (sign-up, a completed profile, events shops report).
- ``birthdays``: the nightly birthday bonus.
- ``segments``: messages to a segment of members.
"""

from __future__ import annotations

from loyalty.campaigns.earning import (
    EarningBreakdown,
    ItemLine,
    RuleLine,
    RuleSpec,
    earning_points,
    earning_rules_active,
    earning_rules_load,
    earning_rules_used,
    earning_rules_used_many,
)

__all__ = [
    "EarningBreakdown",
    "ItemLine",
    "RuleLine",
    "RuleSpec",
    "earning_points",
    "earning_rules_active",
    "earning_rules_load",
    "earning_rules_used",
    "earning_rules_used_many",
]
