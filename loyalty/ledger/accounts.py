"""Points accounts: where a member's balance and tier are kept, and the lock every writer of them takes."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.db import connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model
from django.db.models.expressions import Col
from django.utils import timezone

from config.snapshots import Snapshot
from loyalty.models import PointsAccount, Tier
from members.models import Member, User

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


def account_lock_by_email(*, email: str) -> PointsAccount | None:
    """``account_lock`` for the member whose login is ``email`` (canonical), read with the member, their user and
    tier in one query: an order's usual member costs one statement, not two. ``None`` when no member has that
    email or they have no account yet (then find the member and call ``account_lock``).

    Every order runs it, so its SQL is built once per process from the models' ``_meta`` (building the
    equivalent ``select_related`` query cost more Python than PostgreSQL spends answering it).
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("account_lock_by_email() must run inside transaction.atomic().")
    with connection.cursor() as cursor:
        cursor.execute(_by_email_statement(connection.vendor), [email])
        row = cursor.fetchone()
    if row is None:
        return None
    account, member, user, tier = _instances(row, connection)
    member.user = user
    account.member, account.tier = member, tier
    return account


# The models the locked read returns, in the order of their columns, each with the table alias it is read as.
_LOCKED_READ: tuple[tuple[type[Model], str], ...] = ((PointsAccount, "a"), (Member, "m"), (User, "u"), (Tier, "t"))


@cache
def _by_email_statement(vendor: str) -> str:
    quote = transaction.get_connection().ops.quote_name
    columns = ", ".join(
        f"{alias}.{quote(field.column)}" for model, alias in _LOCKED_READ for field in model._meta.concrete_fields
    )
    account, member, user, tier = (model._meta for model, _alias in _LOCKED_READ)
    lock = " FOR UPDATE OF a" if vendor == "postgresql" else ""  # SQLite serialises writers on its own
    return (
        f"SELECT {columns} FROM {quote(account.db_table)} a "
        f"JOIN {quote(member.db_table)} m ON m.{quote(member.pk.column)} = a.{quote(account.pk.column)} "
        f"JOIN {quote(user.db_table)} u ON u.{quote(user.pk.column)} = m.{quote(member.get_field('user').column)} "
        f"LEFT JOIN {quote(tier.db_table)} t "
        f"ON t.{quote(tier.pk.column)} = a.{quote(account.get_field('tier').column)} "
        f"WHERE u.{quote(user.get_field('email').column)} = %s ORDER BY a.{quote(account.pk.column)} LIMIT 1{lock}"
    )


def _instances(row: tuple[Any, ...], connection: BaseDatabaseWrapper) -> list[Any]:
    """The model instances of one row of ``_by_email_statement`` (the tier ``None`` when the account has none),
    with each field's database converters applied as the ORM would."""
    made: list[Any] = []
    values = iter(row)
    for (model, _alias), converters in zip(_LOCKED_READ, _converters(connection.alias), strict=True):
        converted = []
        for (col, field_converters), value in zip(converters, values, strict=False):  # ``values`` runs on
            for converter in field_converters:
                value = converter(value, col, connection)
            converted.append(value)
        made.append(None if converted[0] is None else model.from_db(connection.alias, None, converted))
    return made


@cache
def _converters(alias: str) -> list[list[tuple[Col, list[Callable[..., Any]]]]]:
    """For each model of ``_LOCKED_READ``, each concrete field's column and its database converters, found once
    per process (finding them cost more than reading the row)."""
    connection = connections[alias]
    found = []
    for model, table in _LOCKED_READ:
        columns = [field.get_col(table) for field in model._meta.concrete_fields]
        found.append(
            [(col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)) for col in columns]
        )
    return found
