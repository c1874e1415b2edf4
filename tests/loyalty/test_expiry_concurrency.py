"""The expiry job under concurrency, on PostgreSQL: two runs at once, and members spending while it runs.

Real threads with their own connections, released together (``run_together``). Each due lot is expired once
whoever gets to it first, a member spending points at the same moment either spends them or sees them expire,
never both, and every test ends with ``check_ledger``.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from loyalty.errors import InsufficientPoints
from loyalty.ledger import expiry, points_adjust, points_expire, points_redeem
from loyalty.models import EntryKind, LedgerEntry, PointsAccount, PointsLot
from members.models import Member
from tests.factories import MemberFactory
from tests.loyalty.test_concurrency import assert_entries_chain, assert_ledger_clean, run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

T0 = dt.datetime(2026, 1, 15, 12, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=200)
NIGHT = T0 + dt.timedelta(days=380)  # the first credit's points are due, the second's not yet


@pytest.fixture
def members(programme) -> list[Member]:
    """Nine members, each with 100 points earned at T0 (due on NIGHT) and 50 earned later (not due)."""
    programme.points_expire_months = 12
    programme.save()
    members = MemberFactory.create_batch(9)
    with time_machine.travel(T0, tick=False):
        for member in members:
            points_adjust(member=member, points=100, staff=None, reason="test setup")
    with time_machine.travel(LATER, tick=False):
        for member in members:
            points_adjust(member=member, points=50, staff=None, reason="test setup")
    return members


def test_two_expiry_runs_at_once_expire_each_lot_once(members):
    results = run_together(lambda _run: points_expire(now=NIGHT, batch=2), [1, 2])

    assert sum(r.members for r in results) == 9 and sum(r.points for r in results) == 900
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 9
    assert sorted(PointsAccount.objects.values_list("balance", flat=True)) == [50] * 9
    assert sorted(PointsLot.objects.values_list("remaining", "expired")) == [(0, 100)] * 9 + [(50, 0)] * 9
    for member in members:
        assert_entries_chain(member)
    assert points_expire(now=NIGHT).members == 0
    assert_ledger_clean()


def test_members_spending_during_the_expiry_spend_a_point_or_lose_it_never_both(members):
    def work(job: Member | None) -> object:
        if job is None:
            return points_expire(now=NIGHT, batch=2)
        try:
            return points_redeem(member=job, points=120)  # more than the later lot: needs the due one too
        except InsufficientPoints:
            return None

    results = run_together(work, [None, *members])

    expiry, redemptions = results[0], results[1:]
    spent = [member for member, entry in zip(members, redemptions, strict=True) if entry is not None]
    for member in members:
        account = PointsAccount.objects.get(member=member)
        expiries = LedgerEntry.objects.filter(member=member, kind=EntryKind.EXPIRE)
        expired = -sum(expiries.values_list("points", flat=True))
        # Spent first: the due lot's 100 and 20 of the later one, nothing is left to expire. Expired first: the
        # due lot's 100 are gone and the 50 left are too few to spend 120.
        assert (account.balance, expired) == ((30, 0) if member in spent else (50, 100))
        assert_entries_chain(member)
    assert (expiry.members, expiry.points) == (9 - len(spent), 100 * (9 - len(spent)))
    assert points_expire(now=NIGHT).members == 0
    assert_ledger_clean()


def test_two_writers_expire_what_one_writer_expires(members, monkeypatch):
    forks, real_imap = [], expiry.forked_imap

    def forked_imap(*args, **kwargs):
        forks.append(kwargs["processes"])
        return real_imap(*args, **kwargs)

    monkeypatch.setattr(expiry, "forked_imap", forked_imap)
    result = points_expire(now=NIGHT, batch=2, writers=2)  # five batches

    assert forks == [2] and (result.members, result.points) == (9, 900)
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).count() == 9
    assert sorted(PointsAccount.objects.values_list("balance", flat=True)) == [50] * 9
    assert sorted(PointsLot.objects.values_list("remaining", "expired")) == [(0, 100)] * 9 + [(50, 0)] * 9
    for member in members:
        assert_entries_chain(member)
    assert points_expire(now=NIGHT, writers=2).members == 0
    assert_ledger_clean()
