"""The points engine's staff admin, one module per concept; importing this package registers every ModelAdmin.

- ``common``: what several admins share: ``ReadOnlyAdminMixin``, ``NEGATIVE_BALANCE_WARNING``, ``balance_html``,
  ``tier_badge`` and ``csv_response`` (a streamed CSV download).
- ``members``: the points part of the member admin (balance and tier columns and filters, the "Points" fieldset,
  the "Adjust points" page), added to ``members``' ``MemberAdmin`` through ``member_admin_extend``.
- ``member_360``: the rest of the member's page: spend, orders, refunds, vouchers and staff adjustments.
- ``programme``: the programme settings and tiers.
- ``shops``: shops, API keys, shop customers and received webhooks.
- ``storefront``: each shop's storefront widget (origins, looks; its keys rotated, the secret shown once).
- ``ledger``: points accounts and ledger entries (read-only).
- ``orders``: orders and refunds (read-only).
- ``rewards``: rewards, win-back offers and vouchers.
- ``replenishment``: replenishment rules and the reminders they scheduled (read-only).
- ``webhooks``: webhook subscriptions, deliveries and the outbox.
- ``openings``: imports of opening balances from another programme (the upload, its dry run and report).
- ``campaigns``: earning rules, points for actions and their awards, segments and segment messages.

A new ModelAdmin goes in the module of its concept (or a new module imported here). Code outside the package
imports what this module exports: ``csv_response`` and ``NEGATIVE_BALANCE_WARNING``.
"""

from __future__ import annotations

from loyalty.staff.admin import (
    campaigns,
    common,
    ledger,
    member_360,
    members,
    openings,
    orders,
    programme,
    replenishment,
    rewards,
    shops,
    storefront,
    webhooks,
)
from loyalty.staff.admin.common import NEGATIVE_BALANCE_WARNING, csv_response

__all__ = [
    "NEGATIVE_BALANCE_WARNING",
    "campaigns",
    "common",
    "csv_response",
    "ledger",
    "member_360",
    "members",
    "openings",
    "orders",
    "programme",
    "replenishment",
    "rewards",
    "shops",
    "storefront",
    "webhooks",
]
