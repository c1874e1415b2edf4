"""``row_exists``: the cheapest "is there such a row?" for lookups that run on every request.

Building an ORM query costs more Python than PostgreSQL spends answering a lookup by an index (see
``bench/RESULTS.md``, the shop API under load). The order path asks two such questions of every order, both
nearly always answered "no" (was this order reported before? was its member referred by a friend?), so the
SQL for each shape of question is built once per process from the model's ``_meta``; when the answer is
"yes", the caller reads the row through the ORM as before.
"""

from __future__ import annotations

from functools import cache

from django.db import connection
from django.db.models import Model


def row_exists(model: type[Model], /, **where: object) -> bool:
    """Whether a row of ``model`` has every field named in ``where`` equal to its value (``None``: null; a tuple:
    any of its values). Values are plain column values (ids, not instances)."""
    shape = tuple((name, len(value) if isinstance(value, tuple) else value is None) for name, value in where.items())
    params: list[object] = []
    for value in where.values():
        if isinstance(value, tuple):
            params.extend(value)
        elif value is not None:
            params.append(value)
    with connection.cursor() as cursor:
        cursor.execute(_statement(model, shape), params)
        return cursor.fetchone() is not None


@cache
def _statement(model: type[Model], shape: tuple[tuple[str, int | bool], ...]) -> str:
    quote = connection.ops.quote_name
    conditions = []
    for name, kind in shape:
        column = quote(model._meta.get_field(name).column)
        if kind is True:
            conditions.append(f"{column} IS NULL")
        elif kind is False:
            conditions.append(f"{column} = %s")
        else:
            conditions.append(f"{column} IN ({', '.join(['%s'] * kind)})")
    return f"SELECT 1 FROM {quote(model._meta.db_table)} WHERE {' AND '.join(conditions)} LIMIT 1"
