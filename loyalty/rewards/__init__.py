"""Rewards: the catalogue members spend points on, their vouchers, and win-back offers.

- ``catalogue``: ``reward_redeem`` (points for a voucher), ``voucher_use``/``voucher_cancel``, voucher codes.
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
from loyalty.rewards.winback import WinbackResult, winback_candidates, winback_send

__all__ = [
    "WinbackResult",
    "reward_redeem",
    "voucher_cancel",
    "voucher_code_generate",
    "voucher_code_normalise",
    "voucher_use",
    "winback_candidates",
    "winback_send",
]
