"""Writing one entry: the account's new balance, the entry and the lot it opens, together.

On PostgreSQL this is one statement (data-modifying CTEs with ``RETURNING``): the busiest path of the API, an
order's points, pays one round trip and no ORM query building for its ledger part. The SQL is built once per
process from the models' ``_meta``, so a field added to ``LedgerEntry`` or ``PointsLot`` is written without
touching it; a column of ``PointsAccount`` that every write must change goes into ``_ACCOUNT_FIELDS``. On other
databases (SQLite in development and the quick test pass) the same rows are written with three ORM calls.
The entry is inserted only if the account row was updated (``SELECT ... FROM account``), so a missing account
fails loudly instead of leaving an entry without a balance.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model

from config.rows import insert_fields
from loyalty.models import LedgerEntry, PointsAccount, PointsLot

# The account's fields every write of an entry saves (from the instance, which the caller has changed).
_ACCOUNT_FIELDS = ("balance", "pending", "updated_at")


def entry_write(*, account: PointsAccount, entry: LedgerEntry, lot: PointsLot | None) -> None:
    """Save ``account``'s balance and pending, insert ``entry`` and ``lot`` (opened by it; ``None``: no lot).

    The caller holds the account's lock (``account_lock``) and has worked out every value; this only writes
    them. ``entry`` and ``lot`` come back saved, with their ids.
    """
    if connection.vendor != "postgresql":
        account.save(update_fields=_ACCOUNT_FIELDS)
        entry.save(force_insert=True)
        if lot is not None:
            lot.entry = entry
            lot.save(force_insert=True)
        return
    params = [_value(PointsAccount, account, name) for name in _ACCOUNT_FIELDS]
    params.append(account.pk)
    params += [_value(LedgerEntry, entry, field.name) for field in insert_fields(LedgerEntry)]
    if lot is not None:
        params += [_value(PointsLot, lot, field.name) for field in insert_fields(PointsLot) if field.name != "entry"]
    with connection.cursor() as cursor:
        cursor.execute(_statement(with_lot=lot is not None), params)
        row = cursor.fetchone()
    if row is None:
        raise PointsAccount.DoesNotExist(f"No points account for member {account.pk}.")
    entry.pk, entry._state.adding, entry._state.db = row[0], False, connection.alias
    if lot is not None:
        lot.entry = entry
        lot.pk, lot._state.adding, lot._state.db = row[1], False, connection.alias


def _value(model: type[Model], instance: Model, name: str) -> object:
    """``instance``'s value for field ``name`` as the database takes it (``auto_now`` applied, JSON adapted)."""
    field = model._meta.get_field(name)
    return field.get_db_prep_save(field.pre_save(instance, add=False), connection=connection)


@cache
def _statement(*, with_lot: bool) -> str:
    """The one statement: update the account, insert the entry (and its lot), return their ids."""
    quote = connection.ops.quote_name
    account_meta = PointsAccount._meta
    sets = ", ".join(f"{quote(account_meta.get_field(name).column)} = %s" for name in _ACCOUNT_FIELDS)
    entry_columns = [quote(field.column) for field in insert_fields(LedgerEntry)]
    sql = (
        f"WITH account AS (UPDATE {quote(account_meta.db_table)} SET {sets} "
        f"WHERE {quote(account_meta.pk.column)} = %s RETURNING 1), "
        f"entry AS (INSERT INTO {quote(LedgerEntry._meta.db_table)} ({', '.join(entry_columns)}) "
        f"SELECT {', '.join(['%s'] * len(entry_columns))} FROM account "
        f"RETURNING {quote(LedgerEntry._meta.pk.column)})"
    )
    if not with_lot:
        return sql + " SELECT entry.*, NULL FROM entry"
    lot_fields = insert_fields(PointsLot)
    entry_id = "entry." + quote(LedgerEntry._meta.pk.column)
    lot_values = [entry_id if field.name == "entry" else "%s" for field in lot_fields]
    return sql + (
        f", lot AS (INSERT INTO {quote(PointsLot._meta.db_table)} "
        f"({', '.join(quote(field.column) for field in lot_fields)}) SELECT {', '.join(lot_values)} FROM entry "
        f"RETURNING {quote(PointsLot._meta.pk.column)}) "
        "SELECT entry.*, lot.* FROM entry, lot"
    )
