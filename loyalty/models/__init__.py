"""The points engine's data, one module per concept; import from ``loyalty.models``, which re-exports them all.

What belongs here: fields, ``Meta`` (constraints, indexes, ordering, verbose names), choices, and small methods
about one row (``__str__``, properties, ``Programme.load()``, the ledger entry's refusal to change). No business
rules: services in ``loyalty.ledger``, ``loyalty.orders``, ``loyalty.rewards`` and the other packages write, and
only ``loyalty.ledger`` writes ledger entries, lots and balances; see CONVENTIONS.md.

Modules (each imports only the ones above it, so there are no cycles):

- ``programme``: ``Currency``, ``AmountBasis`` and ``Programme``, the club's one settings row.
- ``tiers``: ``Tier`` and its ``colour_validator``; ``TierChange``, the history of members' moves.
- ``shops``: ``Shop``, ``ApiKey`` (hashed shop API keys), ``ApiScope`` and ``OPERATIONAL_SCOPES`` (what a key may
  do) and ``ShopCustomer`` (a member a shop enrolled or named by its own customer id).
- ``storefront``: ``Storefront`` (a shop's storefront widget: publishable key, signing secret, origins, looks)
  and ``LauncherPosition``.
- ``orders``: ``OrderSource``, ``Order``, ``ReturnReason`` (staff's list of why goods come back), ``Refund``,
  ``RefundLine`` (goods a refund returned) and ``InboundWebhook`` (received platform webhooks, by source).
- ``customers``: ``customer_of`` and ``customer_pairs``, the rule for who is a shop's customer.
- ``ledger``: ``PointsAccount`` (balance and tier), ``LedgerEntry`` with ``LedgerEntryQuerySet``, ``EntryKind`` and
  ``ImmutableEntryError``, and ``PointsLot`` (FIFO spending and expiry).
- ``openings``: ``BalanceImport`` (one import of opening balances, by batch id) and ``OpeningBalance`` (a member's
  one opening balance, the line and entry that gave it).
- ``redemptions``: ``Redemption`` and ``RedemptionStatus``: points spent at a shop's checkout, held on the ledger,
  and the checkout code's prefix and length.
- ``rewards``: ``Reward``, ``WinbackOffer``, ``VoucherStatus``, ``Voucher`` and the voucher code alphabet and length.
- ``events``: outbound webhooks: ``WebhookEventType``, ``WebhookSubscription``, ``OutboxEvent``,
  ``WebhookDeliveryStatus``, ``WebhookDelivery``, ``WebhookAttempt`` and the URL rule (``webhook_url_allowed``, https
  outside development).
- ``campaigns``: ``RuleKind``, ``codes_parse``, ``EarningRule``, ``EarningRuleUse``, ``ActionKind``, ``PointsAction``,
  ``ActionAward``, ``BirthdayBonus``, ``ConsentFilter``, ``ReferralFilter``, ``Segment`` and ``SegmentSend``.
- ``replenishment``: ``ReplenishmentRule`` (how long a SKU or category lasts), ``ReplenishmentReminder`` and
  ``ReminderStatus`` (one order item's reminder), and an order item's product address: ``ITEM_URL_MAX_LENGTH``,
  ``product_url_valid`` and ``ProductURLValidator``.
"""

from __future__ import annotations

# Dependency order, which is also the order the models register in (close to the old single module's).
# isort: off
from loyalty.models.programme import AmountBasis, Currency, Programme
from loyalty.models.tiers import Tier, TierChange, TierChangeReason, colour_validator
from loyalty.models.shops import OPERATIONAL_SCOPES, ApiKey, ApiScope, Country, Shop, ShopCustomer
from loyalty.models.storefront import (
    PUBLISHABLE_KEY_PREFIX,
    STOREFRONT_SECRET_PREFIX,
    LauncherPosition,
    Storefront,
)
from loyalty.models.orders import InboundWebhook, Order, OrderSource, Refund, RefundLine, ReturnReason
from loyalty.models.customers import customer_of, customer_pairs
from loyalty.models.ledger import (
    EntryKind,
    ImmutableEntryError,
    LedgerEntry,
    LedgerEntryQuerySet,
    PointsAccount,
    PointsLot,
)
from loyalty.models.openings import BalanceImport, OpeningBalance
from loyalty.models.redemptions import REDEMPTION_CODE_LENGTH, REDEMPTION_CODE_PREFIX, Redemption, RedemptionStatus
from loyalty.models.rewards import VOUCHER_ALPHABET, VOUCHER_CODE_LENGTH, Reward, Voucher, VoucherStatus, WinbackOffer
from loyalty.models.events import (
    OutboxEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookDeliveryStatus,
    WebhookEventType,
    WebhookSubscription,
    WebhookURLValidator,
    webhook_url_allowed,
)
from loyalty.models.campaigns import (
    ActionAward,
    ActionKind,
    BirthdayBonus,
    ConsentFilter,
    EarningRule,
    EarningRuleUse,
    PointsAction,
    ReferralFilter,
    RuleKind,
    Segment,
    SegmentSend,
    codes_parse,
)
from loyalty.models.replenishment import (
    ITEM_URL_MAX_LENGTH,
    ProductURLValidator,
    ReminderStatus,
    ReplenishmentReminder,
    ReplenishmentRule,
    product_url_valid,
)
# isort: on

__all__ = [
    "ITEM_URL_MAX_LENGTH",
    "OPERATIONAL_SCOPES",
    "PUBLISHABLE_KEY_PREFIX",
    "REDEMPTION_CODE_LENGTH",
    "REDEMPTION_CODE_PREFIX",
    "STOREFRONT_SECRET_PREFIX",
    "VOUCHER_ALPHABET",
    "VOUCHER_CODE_LENGTH",
    "ActionAward",
    "ActionKind",
    "AmountBasis",
    "ApiKey",
    "ApiScope",
    "BalanceImport",
    "BirthdayBonus",
    "ConsentFilter",
    "Country",
    "Currency",
    "EarningRule",
    "EarningRuleUse",
    "EntryKind",
    "ImmutableEntryError",
    "InboundWebhook",
    "LauncherPosition",
    "LedgerEntry",
    "LedgerEntryQuerySet",
    "OpeningBalance",
    "Order",
    "OrderSource",
    "OutboxEvent",
    "PointsAccount",
    "PointsAction",
    "PointsLot",
    "ProductURLValidator",
    "Programme",
    "Redemption",
    "RedemptionStatus",
    "ReferralFilter",
    "Refund",
    "RefundLine",
    "ReminderStatus",
    "ReplenishmentReminder",
    "ReplenishmentRule",
    "ReturnReason",
    "Reward",
    "RuleKind",
    "Segment",
    "SegmentSend",
    "Shop",
    "ShopCustomer",
    "Storefront",
    "Tier",
    "TierChange",
    "TierChangeReason",
    "Voucher",
    "VoucherStatus",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
    "WebhookEventType",
    "WebhookSubscription",
    "WebhookURLValidator",
    "WinbackOffer",
    "codes_parse",
    "colour_validator",
    "customer_of",
    "customer_pairs",
    "product_url_valid",
    "webhook_url_allowed",
]
