"""The machinery of the bulk paths (an order history import, opening balances, the members they enrol), shared so
that each import does not grow its own:

- ``rows_insert``/``tuples_insert``/``objects_insert``: new rows by PostgreSQL's COPY. ``bulk_create`` builds and
  adapts every value of every row in Python, which cost more than the database spent storing them.
- ``forked_imap``/``ForkedMap``: work spread over forked processes (the machines have two cores: one process's
  Python while another's waits on SQL), results in order; ``ForkedMap`` lets the caller work meanwhile.
- ``many_values``: the right side of an ``__in`` filter of thousands of values, as one parameter.
- ``atomic_retried``: a batch as one transaction, tried again whole when it meets a row another transaction
  committed meanwhile.
- ``plans_per_execution``: PostgreSQL plans each execution of a prepared statement for its own values while a
  bulk command runs, since the tables it reads grow under it.
"""

from __future__ import annotations

import json
import multiprocessing
import operator
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from django.db import IntegrityError, connection, transaction
from django.db.models import JSONField, Model
from django.db.models.expressions import RawSQL

Item = TypeVar("Item")
Result = TypeVar("Result")

CUSTOM_PLANS = "-c plan_cache_mode=force_custom_plan"


def rows_insert(model: type[Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (column values by attribute name, the same names in every row) and return their ids, in
    order.

    The model's defaults fill the columns a row leaves out; a callable default (a UUID, a timestamp) is
    called for each row. On PostgreSQL the ids are taken from the sequence first and the rows sent with COPY;
    elsewhere ``bulk_create``. No signals are sent and no ``save`` runs, as with ``bulk_create``; a constraint
    the rows break raises ``IntegrityError`` and nothing is inserted.
    """
    if not rows:
        return []
    columns = list(rows[0])
    return tuples_insert(model, columns, [[row[name] for name in columns] for row in rows])


def tuples_insert(model: type[Model], columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    """``rows_insert`` for rows given as sequences of the values of ``columns`` (attribute names), in that order:
    no dict per row (an order history import writes four rows an order, millions in all)."""
    if not rows:
        return []
    if connection.vendor != "postgresql":
        made = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        return [obj.pk for obj in model.objects.bulk_create(made)]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    named = {f.attname: f for f in fields}
    given = [named[name] for name in columns]
    missing = [f for f in fields if f.attname not in set(columns)]
    per_row = [f for f in missing if callable(f.default)]
    fixed = [f for f in missing if not callable(f.default)]
    fixed_values = [json.dumps(f.get_default()) if isinstance(f, JSONField) else f.get_default() for f in fixed]
    jsons = [i for i, f in enumerate([*given, *per_row]) if isinstance(f, JSONField)]
    table = model._meta.db_table
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        names = ", ".join(connection.ops.quote_name(f.column) for f in [*given, *per_row, *fixed])
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} (id, {names}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):  # per row and column as little Python as can be
                values = [*row, *(f.get_default() for f in per_row)] if per_row else list(row)
                for i in jsons:
                    values[i] = json.dumps(values[i])
                copy.write_row([pk, *values, *fixed_values])
    return ids


def objects_insert(objects: Sequence[Model]) -> None:
    """``bulk_create`` for new, unsaved objects of one model, by ``rows_insert``: sets their ids."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        type(objects[0]).objects.bulk_create(objects)
        return
    names = [f.attname for f in type(objects[0])._meta.concrete_fields if not f.primary_key]
    values = operator.attrgetter(*names)
    ids = tuples_insert(type(objects[0]), names, [values(obj) for obj in objects])
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def forked_imap(
    function: Callable[[Item], Result], items: Iterable[Item], *, processes: int,
    initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
) -> Iterator[Result]:  # fmt: skip
    """``map(function, items)`` in ``processes`` forked processes, the results in the order of ``items``.

    Forked, so ``initializer``'s arguments (and everything the parent had loaded) reach the children without
    pickling: pass the bulk of the work that way and let ``items`` name parts of it (pickling thousands of objects
    each way costs about as much as the work a child saves). Each child opens its own database connection: the
    caller closes the parent's first (``connections.close_all``), outside any transaction."""
    context = multiprocessing.get_context("fork")
    with context.Pool(processes, initializer=initializer, initargs=initargs) as pool:
        yield from pool.imap(function, items)


class ForkedMap(Generic[Result]):
    """``forked_imap`` started without waiting for it: the caller works meanwhile (an import reads its next window
    while the forked writers write this one), then takes ``results()``, in the order of ``items``. ``stop()``
    ends the processes unfinished (the caller failed meanwhile); ``results`` ends them when they are done."""

    def __init__(
        self, function: Callable[[Item], Result], items: Iterable[Item], *, processes: int,
        initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
    ) -> None:  # fmt: skip
        context = multiprocessing.get_context("fork")
        self._pool = context.Pool(processes, initializer=initializer, initargs=initargs)
        self._work = self._pool.map_async(function, list(items), chunksize=1)

    def results(self) -> list[Result]:
        try:
            return self._work.get()
        finally:
            self.stop()

    def stop(self) -> None:
        self._pool.terminate()
        self._pool.join()


def atomic_retried(write: Callable[[], Result], *, attempts: int) -> Result:
    """``write()`` in one transaction, tried again whole (up to ``attempts`` times in all) when it raises
    ``IntegrityError``: a bulk writer reads, then inserts many rows, and a row another transaction committed in
    between (a member enrolled by a live order or by another writer) breaks a unique constraint. Undone whole and
    read again, the batch finds that row. ``write`` returns what it did; a failed attempt's result is dropped."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction.atomic():
                return write()
        except IntegrityError:
            if attempt == attempts:
                raise
    raise ValueError("attempts must be at least 1")


def many_values(values: Collection[Any], *, sql_type: str) -> list[Any] | RawSQL:
    """What to give an ``__in`` filter of thousands of values (a batch's members, their emails): on PostgreSQL one
    array parameter, unnested by the server (``IN (SELECT unnest(%s::bigint[]))``), where a plain list makes Django
    resolve and psycopg place a parameter per value, which took longer than the query; elsewhere the list."""
    if connection.vendor != "postgresql":
        return list(values)
    return RawSQL(f"SELECT unnest(%s::{sql_type}[])", [list(values)])


@contextmanager
def plans_per_execution() -> Iterator[None]:
    """While the block runs, PostgreSQL plans every execution of a prepared statement for its own values, on this
    process's connection and on every connection opened meanwhile (the forked writers' too).

    Klubb's connections keep a statement prepared from its fifth run (``DATABASE_PREPARE_THRESHOLD``), and
    PostgreSQL may then plan it once for any values and keep that plan: right for the web's requests, whose tables
    do not change shape between two of them, and ruinous for a bulk command, whose lookups were planned while the
    tables it fills were small (an import's member lookups took 212 s of PostgreSQL's CPU instead of 13 s).
    """
    if connection.vendor != "postgresql":
        yield
        return
    options = connection.settings_dict.setdefault("OPTIONS", {})
    before = options.get("options")
    options["options"] = f"{before or ''} {CUSTOM_PLANS}".strip()
    if connection.connection is not None:
        with connection.cursor() as cursor:
            cursor.execute("SET plan_cache_mode = force_custom_plan")
    try:
        yield
    finally:
        if before is None:
            options.pop("options")
        else:
            options["options"] = before
        if connection.connection is not None and not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("RESET plan_cache_mode")
