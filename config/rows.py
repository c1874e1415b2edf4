"""Prebuilt SQL for the row questions and writes that run on every request or message: ``row_exists``,
``row_insert`` and ``row_update``.

Building an ORM query costs more Python than PostgreSQL spends answering a lookup by an index or storing one row
(see ``bench/RESULTS.md``, the shop API under load). The order path asks two questions of every order, both
nearly always answered "no" (was this order reported before? was its member referred by a friend?), and stores
the order's row; the message worker renews a lease and records an outcome per message (``row_update``). The SQL
for each is built once per process from the model's ``_meta``. When the answer is "yes", the caller reads the
row through the ORM as before.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Field, Model
from django.db.models.signals import post_save, pre_save


def row_exists(model: type[Model], /, **where: object) -> bool:
    """Whether a row of ``model`` has every field named in ``where`` equal to its value (``None``: null; a tuple:
    any of its values; ``pk`` names the primary key, as in ``row_update``). Values are plain column values (ids,
    not instances)."""
    shape = tuple((name, len(value) if isinstance(value, tuple) else value is None) for name, value in where.items())
    params: list[object] = []
    for value in where.values():
        if isinstance(value, tuple):
            params.extend(value)
        elif value is not None:
            params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_exists_sql(model, shape), params)
        return cursor.fetchone() is not None


@cache
def _exists_sql(model: type[Model], shape: tuple[tuple[str, int | bool], ...]) -> str:
    quote = connection.ops.quote_name
    conditions = []
    for name, kind in shape:
        column = quote(_field(model, name).column)
        if kind is True:
            conditions.append(f"{column} IS NULL")
        elif kind is False:
            conditions.append(f"{column} = %s")
        else:
            conditions.append(f"{column} IN ({', '.join(['%s'] * kind)})")
    return f"SELECT 1 FROM {quote(model._meta.db_table)} WHERE {' AND '.join(conditions)} LIMIT 1"


def row_update(model: type[Model], /, changes: dict[str, object], **where: object) -> int:
    """``model.objects.filter(**where).update(**changes)`` for plain values (no expressions, no ``None`` in
    ``where``; ``pk`` names the primary key), with SQL built once per set of field names; returns the rows
    changed. Like ``QuerySet.update``, it sends no signals."""
    fields = [_field(model, name) for name in (*changes, *where)]
    values = (*changes.values(), *where.values())
    params = [field.get_db_prep_save(value, connection=connection) for field, value in zip(fields, values, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(model, tuple(changes), tuple(where)), params)
        return cursor.rowcount


def _field(model: type[Model], name: str) -> Field:
    return model._meta.pk if name == "pk" else model._meta.get_field(name)  # type: ignore[return-value]


@cache
def _update_sql(model: type[Model], changes: tuple[str, ...], where: tuple[str, ...]) -> str:
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(_field(model, name).column)} = %s" for name in changes)
    conditions = " AND ".join(f"{quote(_field(model, name).column)} = %s" for name in where)
    return f"UPDATE {quote(model._meta.db_table)} SET {assignments} WHERE {conditions}"


def row_insert(instance: Model) -> None:
    """Insert ``instance`` as ``instance.save(force_insert=True)`` would (defaults and ``auto_now`` applied, JSON
    adapted), and set its primary key.

    On PostgreSQL, for a model no ``pre_save``/``post_save`` receiver listens to, one prebuilt ``INSERT ...
    RETURNING``; otherwise through ``save``, signals and all."""
    model = type(instance)
    if connection.vendor != "postgresql" or pre_save.has_listeners(model) or post_save.has_listeners(model):
        instance.save(force_insert=True)
        return
    params = [
        field.get_db_prep_save(field.pre_save(instance, add=True), connection=connection)
        for field in insert_fields(model)
    ]
    with connection.cursor() as cursor:
        cursor.execute(_insert_sql(model), params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding, instance._state.db = False, connection.alias


@cache
def insert_fields(model: type[Model]) -> tuple[Field, ...]:
    """The columns an INSERT of ``model`` writes: all concrete ones but a primary key the database generates."""
    return tuple(field for field in model._meta.concrete_fields if not (field.primary_key and field.db_returning))


@cache
def _insert_sql(model: type[Model]) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in insert_fields(model))
    values = ", ".join(["%s"] * len(insert_fields(model)))
    return (
        f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({values}) "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
