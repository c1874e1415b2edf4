"""Inserting many new rows fast: PostgreSQL's COPY, for the bulk paths (an order history import and the
members it enrols). ``bulk_create`` builds and adapts every value of every row in Python, which cost more
than the database spent storing them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import JSONField, Model


def rows_insert(model: type[Model], rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (column values by attribute name) and return their ids, in order.

    The model's defaults fill the columns a row leaves out; a callable default (a UUID, a timestamp) is
    called for each row. On PostgreSQL the ids are taken from the sequence first and the rows sent with COPY;
    elsewhere ``bulk_create``. No signals are sent and no ``save`` runs, as with ``bulk_create``; a constraint
    the rows break raises ``IntegrityError`` and nothing is inserted.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        return [obj.pk for obj in model.objects.bulk_create([model(**row) for row in rows])]
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    given = rows[0].keys()
    missing = [f for f in fields if f.attname not in given]
    fixed = {f.attname: f.get_default() for f in missing if not callable(f.default)}
    per_row = [f for f in missing if callable(f.default)]
    jsons = {f.attname for f in fields if isinstance(f, JSONField)}
    columns = [f.attname for f in fields]
    table = model._meta.db_table
    with connection.cursor() as cursor, connection.wrap_database_errors:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", [table, len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} (id, {names}) FROM STDIN") as copy:
            for pk, row in zip(ids, rows, strict=True):
                values = {**fixed, **{f.attname: f.get_default() for f in per_row}, **row}
                copy.write_row([pk, *(json.dumps(values[c]) if c in jsons else values[c] for c in columns)])
    return ids


def objects_insert(objects: Sequence[Model]) -> None:
    """``bulk_create`` for new, unsaved objects of one model, by ``rows_insert``: sets their ids."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        type(objects[0]).objects.bulk_create(objects)
        return
    fields = [f for f in type(objects[0])._meta.concrete_fields if not f.primary_key]
    ids = rows_insert(type(objects[0]), [{f.attname: getattr(obj, f.attname) for f in fields} for obj in objects])
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
