"""Points accounts: where a member's balance and tier are kept, and the lock every writer of them takes."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty.models import PointsAccount, Tier
from members.models import Member

# The tiers, lowest first: every order and every new account reads them; kept per process (config/snapshots.py).
_tiers = Snapshot(lambda: tuple(Tier.objects.order_by("threshold")), sources=[Tier])


def tiers_by_threshold() -> list[Tier]:
    """The tiers, lowest first, as this process last read them (at most seconds old). Do not change them."""
    return list(_tiers.get())


def entry_tier() -> Tier | None:
    """The lowest tier, where a new points account starts (``None`` while the programme has no tiers)."""
    return next(iter(_tiers.get()), None)


def account_open(*, member: Member) -> None:
    """Open a new member's points account at the entry tier, so they have a level from the day they join (the
    portal, the admin and the dashboard all read it from the account); an existing account is left as it is."""
    PointsAccount.objects.bulk_create(
        [PointsAccount(member_id=member.pk, tier=entry_tier(), tier_since=timezone.now())], ignore_conflicts=True
    )


def account_lock(*, member: Member | int) -> PointsAccount:
    """Return the member's points account, locked for update until the transaction ends.

    Creates the account (at the entry tier) the first time. Must be called inside ``atomic``. Given the
    member itself (not its id), the account carries that instance instead of reading the member again.
    """
    member_id = member if isinstance(member, int) else member.pk
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("account_lock() must run inside transaction.atomic().")
    related = ("tier",) if isinstance(member, Member) else ("tier", "member")
    locked = PointsAccount.objects.select_for_update(of=("self",)).select_related(*related)
    account = locked.filter(member_id=member_id).first()
    if account is None:  # the member's first points: open the account (another writer may be doing the same)
        PointsAccount.objects.bulk_create(
            [PointsAccount(member_id=member_id, tier=entry_tier(), tier_since=timezone.now())], ignore_conflicts=True
        )
        account = locked.get(member_id=member_id)
    if isinstance(member, Member):
        account.member = member
    return account
