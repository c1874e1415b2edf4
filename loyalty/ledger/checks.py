"""Proofs that the ledger adds up: every balance equals its entries and its open lots, pending points match their
lots, and every checkout redemption's entries match it. ``manage.py check_ledger`` reports what these find."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from loyalty.models import EntryKind, LedgerEntry, PointsAccount, PointsLot, Redemption


@dataclass(frozen=True)
class LedgerMismatch:
    member_id: int
    email: str
    balance: int
    entries_sum: int


def ledger_mismatches() -> list[LedgerMismatch]:
    """Members whose stored balance differs from the sum of their entries, computed in the database.

    Entries of a member who has no account count as a mismatch too (the balance is then 0).
    """
    entries_sum = (
        LedgerEntry.objects.filter(member_id=OuterRef("member_id"))
        .order_by()
        .values("member_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    accounts = (
        PointsAccount.objects.annotate(entries_sum=Coalesce(Subquery(entries_sum), 0))
        .exclude(balance=F("entries_sum"))
        .values_list("member_id", "member__user__email", "balance", "entries_sum")
    )
    orphans = (
        LedgerEntry.objects.filter(member__points__isnull=True)
        .order_by()
        .values("member_id", "member__user__email")
        .annotate(total=Sum("points"))
        .values_list("member_id", "member__user__email", "total")
    )
    found = [LedgerMismatch(member_id=m, email=e, balance=b, entries_sum=t) for m, e, b, t in accounts]
    found += [LedgerMismatch(member_id=m, email=e, balance=0, entries_sum=t) for m, e, t in orphans if t]
    return sorted(found, key=lambda row: row.member_id)


def lot_mismatches() -> list[LedgerMismatch]:
    """Members whose open points lots do not add up to their balance (to 0 when the balance is negative).

    ``entries_sum`` holds the lots' remaining total here.
    """
    lots_sum = (  # the open lots only (``lot_open_idx``): a spent or expired lot has none remaining
        PointsLot.objects.filter(member_id=OuterRef("member_id"), remaining__gt=0)
        .order_by()
        .values("member_id")
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    rows = (
        PointsAccount.objects.annotate(
            lots=Coalesce(Subquery(lots_sum), 0),
            expected=Case(When(balance__gt=0, then=F("balance")), default=Value(0)),
        )
        .exclude(lots=F("expected"))
        .values_list("member_id", "member__user__email", "balance", "lots")
    )
    return [LedgerMismatch(member_id=m, email=e, balance=b, entries_sum=t) for m, e, b, t in rows]


def pending_mismatches() -> list[LedgerMismatch]:
    """Members whose ``pending`` is not what their pending lots hold, or more than their balance.

    ``entries_sum`` holds the pending lots' remaining total here.
    """
    pending_sum = (  # the open lots only (``lot_open_idx``): a pending lot a clawback emptied adds nothing
        PointsLot.objects.filter(member_id=OuterRef("member_id"), remaining__gt=0, available_at__isnull=False)
        .order_by()
        .values("member_id")
        .annotate(total=Sum("remaining"))
        .values("total")
    )
    rows = (
        PointsAccount.objects.annotate(lots=Coalesce(Subquery(pending_sum), 0))
        .filter(~Q(pending=F("lots")) | (Q(pending__gt=0) & Q(pending__gt=F("balance"))))
        .values_list("member_id", "member__user__email", "pending", "lots")
    )
    return [LedgerMismatch(member_id=m, email=e, balance=b, entries_sum=t) for m, e, b, t in rows]


@dataclass(frozen=True)
class HoldMismatch:
    """A checkout redemption whose ledger entries do not say what it says."""

    shop: str
    redemption_id: str
    points: int
    held: int  # what its hold entry took
    returned: int  # its own count of points given back
    given_back: int  # what the entries correcting its hold gave back

    def __str__(self) -> str:
        return (
            f"redemption {self.redemption_id} at {self.shop}: {self.points} points, its hold took {self.held}; "
            f"it gave back {self.returned}, its entries {self.given_back}"
        )


def hold_mismatches() -> list[HoldMismatch]:
    """Checkout redemptions whose hold did not take exactly their points, or whose ``return`` entries do not
    add up to what they say was given back (all of it once released)."""
    given_back = (
        LedgerEntry.objects.filter(corrects_id=OuterRef("hold_entry_id"), kind=EntryKind.RETURN)
        .order_by()
        .values("corrects_id")
        .annotate(total=Sum("points"))
        .values("total")
    )
    rows = (
        Redemption.objects.annotate(held=-F("hold_entry__points"), given_back=Coalesce(Subquery(given_back), 0))
        .filter(
            ~Q(held=F("points"))
            | ~Q(given_back=F("points_returned"))
            | ~Q(hold_entry__member_id=F("member_id"))
            | ~Q(hold_entry__kind=EntryKind.REDEEM)
        )
        .values_list("shop__slug", "external_id", "points", "held", "points_returned", "given_back")
    )
    return [HoldMismatch(*row) for row in rows]
