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
    points: int = 0  # what the credit that opened it held (a lot never holds more)


@dataclass
class Account:
    balance: int = 0
    lots: list[Lot] = field(default_factory=list)

    def credit(self, points: int, at: dt.datetime) -> None:
        # A credit first pays any debt a clawback left; what is left of it is a lot that can be spent or expire.
        debt = max(0, -self.balance)
        self.lots.append(Lot(at, max(0, points - debt), at + relativedelta(months=EXPIRE_MONTHS), points))
        self.balance += points

    def debit(self, points: int) -> dict[int, int]:
        # Spends the oldest points first (lots are created in time order here); only a clawback may take more than
        # the lots hold, and what is missing is a debt the next credit pays. Returns lot index -> points taken.
        self.balance -= points
        taken: dict[int, int] = {}
        for index, lot in enumerate(self.lots):
            take = min(lot.remaining, points)
            if take:
                lot.remaining -= take
                taken[index] = take
            points -= take
            if points == 0:
                break
        return taken

    def give_back(self, points: int, *, owed: dict[int, int], at: dt.datetime) -> dict[int, int]:
        # Points a checkout spent, back (released, or a refund's share): a debt is paid first; the rest goes back
        # into the lots they were taken from, newest first, unless expired since, up to what is still owed to each
        # and what each first held; what does not fit starts a new lot. Returns lot index -> points given.
        restorable = max(0, points - max(0, -self.balance))
        self.balance += points
        given: dict[int, int] = {}
        for index in sorted(owed, reverse=True):
            lot = self.lots[index]
            if lot.expires_at <= at or not restorable:
                continue
            give = min(restorable, owed[index], lot.points - lot.remaining)
            if give:
                lot.remaining += give
                restorable -= give
                given[index] = give
        if restorable:
            self.lots.append(Lot(at, restorable, at + relativedelta(months=EXPIRE_MONTHS), restorable))
        return given

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


@dataclass
class ModelRedemption:
    """Points reserved at a checkout: ``owed`` is what each lot gave the hold and has not had back yet."""

    email: str
    points: int
    code: str
    owed: dict[int, int]
    status: str = "reserved"
    order_id: str | None = None
    returned: int = 0
