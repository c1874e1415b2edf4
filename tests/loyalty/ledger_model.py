"""The independent model the ledger's state machine (test_ledger_stateful.py) checks the database against.

Balances and FIFO points lots, written from the rules in README/CONVENTIONS, not from the code: a credit first
pays any debt a clawback left, a debit spends the oldest points first, expiry takes what is due but never more
than the balance, and a refund claws back its share of an order's points, rounded down (all of them at 100 %).
Orders and referrals are tracked as the services should see them. The programme's settings here are the ones
the state machine configures, so the model and the services compute from the same numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import Decimal

from dateutil.relativedelta import relativedelta

from loyalty.orders import OrderInput

EXPIRE_MONTHS = 6
REWARD_COST = 400
REWARD_STOCK = 3
FRIEND_BONUS = 200
REFERRER_REWARD = 500
MINIMUM_ORDER = Decimal("300.00")
CONFIRMATION_DAYS = 14
# A campaign: a fixed bonus on orders from BONUS_MINIMUM, at most BONUS_CAP points per member that they keep.
BONUS, BONUS_CAP, BONUS_MINIMUM = 150, 400, Decimal("1000.00")


@dataclass
class Lot:
    earned_at: dt.datetime
    remaining: int
    expires_at: dt.datetime


@dataclass
class Account:
    balance: int = 0
    lots: list[Lot] = field(default_factory=list)

    def credit(self, points: int, at: dt.datetime) -> None:
        # A credit first pays any debt a clawback left; what is left of it is a lot that can be spent or expire.
        debt = max(0, -self.balance)
        self.lots.append(Lot(at, max(0, points - debt), at + relativedelta(months=EXPIRE_MONTHS)))
        self.balance += points

    def debit(self, points: int) -> None:
        # Spends the oldest points first (lots are created in time order here); only a clawback may take more than
        # the lots hold, and what is missing is a debt the next credit pays.
        self.balance -= points
        for lot in self.lots:
            take = min(lot.remaining, points)
            lot.remaining -= take
            points -= take
            if points == 0:
                return

    def expire(self, now: dt.datetime) -> int:
        due = [lot for lot in self.lots if lot.remaining and lot.expires_at <= now]
        total = min(sum(lot.remaining for lot in due), max(self.balance, 0))
        for lot in due:
            lot.remaining = 0
        self.balance -= total
        return total

    @property
    def open_points(self) -> int:
        return sum(lot.remaining for lot in self.lots)


@dataclass
class ModelOrder:
    email: str
    amount: Decimal
    awarded: int
    payload: OrderInput
    bonus: int = 0
    refunded: Decimal = Decimal("0")
    clawed: int = 0

    @property
    def bonus_kept(self) -> int:
        return self.bonus - clawback_total(self.bonus, self.refunded, self.amount)


@dataclass
class ModelReferral:
    referrer: str
    friend: str
    status: str = "pending"
    order_id: str | None = None
    due_at: dt.datetime | None = None


def clawback_total(awarded: int, refunded: Decimal, amount: Decimal) -> int:
    """What a refund of ``refunded`` in all takes back: its share of the points, rounded down; all of them at 100%."""
    return awarded if refunded >= amount else math.floor(Decimal(awarded) * refunded / amount)
