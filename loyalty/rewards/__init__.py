"""Rewards: the catalogue members spend points on, their vouchers, and win-back offers.

- ``catalogue``: ``reward_redeem`` (points for a voucher), ``voucher_use``/``voucher_cancel``, voucher codes.
- ``checkout``: points spent at a shop's checkout: ``redemption_reserve``/``_capture``/``_release``, the expiry
  job (``redemptions_expire``), the codes an order carries (``checkout_codes_use``), a refund's share given back
  (``redemption_return``), and each shop's ``CheckoutTerms``.
- ``winback``: the nightly win-back offers to members who stopped buying.
"""

from __future__ import annotations

from loyalty.rewards.catalogue import (
    reward_redeem,
    voucher_cancel,
    voucher_code_generate,
    voucher_code_normalise,
    voucher_use,
)
from loyalty.rewards.checkout import (
    EXPIRE_BATCH,
    CheckoutTerms,
    CodesUsed,
    RedemptionResult,
    account_spendable,
    checkout_codes_use,
    checkout_spenders,
    checkout_terms,
    order_redemptions,
    redemption_capture,
    redemption_data,
    redemption_release,
    redemption_reserve,
    redemption_return,
    redemptions_expire,
)
from loyalty.rewards.winback import WinbackResult, winback_candidates, winback_send

__all__ = [
    "EXPIRE_BATCH",
    "CheckoutTerms",
    "CodesUsed",
    "RedemptionResult",
    "WinbackResult",
    "account_spendable",
    "checkout_codes_use",
    "checkout_spenders",
    "checkout_terms",
    "order_redemptions",
    "redemption_capture",
    "redemption_data",
    "redemption_release",
    "redemption_reserve",
    "redemption_return",
    "redemptions_expire",
    "reward_redeem",
    "voucher_cancel",
    "voucher_code_generate",
    "voucher_code_normalise",
    "voucher_use",
    "winback_candidates",
    "winback_send",
]
