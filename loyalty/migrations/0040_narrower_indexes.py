"""Drop the indexes that another index already covers, or that index only empty values.

Each foreign key below had an index of its own beside another that leads with the same column (a member's
orders and entries, an order's shop, a rule's uses), or indexed a column empty on many rows (an entry's order,
refund, staff member and corrected entry: partial indexes of the rows that have one take their place), or no read
needs it (the lots' member: the open lots have ``lot_open_idx``; the orders' address fingerprint is compared only
among one member's orders). Every order, entry and lot written, and every lot the expiry or a spend changes, pays
for each index: fewer make the order path, the import and the expiry cheaper (bench/RESULTS.md, issue 18).

Django's ``AlterField`` would drop and re-add each foreign key constraint to change its ``db_index``, and
re-adding one checks every row of the table under a lock; so the database side drops only the indexes, found by
introspection (their names are Django's generated ones), and the constraints stay as they are. On PostgreSQL the
partial indexes are built, and the old ones dropped, CONCURRENTLY: a live ledger keeps taking orders meanwhile
(about 5 s in all at 10,000,000 entries on the benchmark machine).
"""

from __future__ import annotations

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

# (model, field): each field's own single-column index goes; its foreign key constraint stays.
UNINDEXED = [
    ("earningruleuse", "rule"),
    ("ledgerentry", "member"),
    ("ledgerentry", "order"),
    ("ledgerentry", "refund"),
    ("ledgerentry", "staff"),
    ("ledgerentry", "corrects"),
    ("order", "member"),
    ("order", "shop"),
    ("order", "address_fingerprint"),
    ("pointslot", "member"),
]
# What takes the place of the entries' own indexes of these (``LedgerEntry.Meta.indexes``).
PARTIAL = {
    field: models.Index(fields=[field], condition=models.Q(**{f"{field}__isnull": False}), name=f"entry_{field}_idx")
    for field in ("order", "refund", "staff", "corrects")
}


def own_indexes(apps, schema_editor) -> list[str]:  # noqa: ANN001
    """The names of the indexes of each field in ``UNINDEXED`` alone (Django's generated names, and on
    PostgreSQL the ``_like`` index of a text column)."""
    connection = schema_editor.connection
    names = []
    for model_name, field_name in UNINDEXED:
        model = apps.get_model("loyalty", model_name)
        column = model._meta.get_field(field_name).column
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        names += [
            name
            for name, info in constraints.items()
            if info["index"] and not info["unique"] and not info["primary_key"] and info["columns"] == [column]
        ]
    return names


def concurrently(schema_editor) -> dict[str, bool]:  # noqa: ANN001
    """On PostgreSQL, build and drop without locking out writes (a live ledger keeps taking orders)."""
    return {"concurrently": True} if schema_editor.connection.vendor == "postgresql" else {}


def drop_index(schema_editor, name: str) -> None:  # noqa: ANN001
    how = "CONCURRENTLY IF EXISTS " if schema_editor.connection.vendor == "postgresql" else "IF EXISTS "
    schema_editor.execute(f"DROP INDEX {how}{schema_editor.quote_name(name)}")


def narrow(apps, schema_editor) -> None:  # noqa: ANN001
    entry = apps.get_model("loyalty", "ledgerentry")
    old = own_indexes(apps, schema_editor)
    for index in PARTIAL.values():  # first, so that a refund's entries are never without an index
        schema_editor.add_index(entry, index, **concurrently(schema_editor))
    for name in old:
        drop_index(schema_editor, name)


def widen(apps, schema_editor) -> None:  # noqa: ANN001
    """The reverse: an index of each field again (named here: none of Django's generated names is needed)."""
    for model_name, field_name in UNINDEXED:
        model = apps.get_model("loyalty", model_name)
        index = models.Index(fields=[field_name], name=f"{model_name[:8]}_{field_name[:10]}_own_idx")
        schema_editor.add_index(model, index, **concurrently(schema_editor))
    for index in PARTIAL.values():
        drop_index(schema_editor, index.name)


class Migration(migrations.Migration):
    atomic = False  # CREATE and DROP INDEX CONCURRENTLY run outside a transaction

    dependencies = [
        ("loyalty", "0039_reminder_returned"),
        ("members", "0016_message_context"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="earningruleuse",
                    name="rule",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="uses",
                        to="loyalty.earningrule",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="corrects",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="corrections",
                        to="loyalty.ledgerentry",
                        verbose_name="corrects entry",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="member",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger",
                        to="members.member",
                        verbose_name="member",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="order",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="loyalty.order",
                        verbose_name="order",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="refund",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="loyalty.refund",
                        verbose_name="refund",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="staff",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="staff member",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="member",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="members.member",
                        verbose_name="member",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="shop",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="orders",
                        to="loyalty.shop",
                        verbose_name="shop",
                    ),
                ),
                migrations.AlterField(
                    model_name="pointslot",
                    name="member",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="points_lots",
                        to="members.member",
                    ),
                ),
                migrations.AlterField(
                    model_name="order",
                    name="address_fingerprint",
                    field=models.CharField(
                        blank=True,
                        default="",
                        editable=False,
                        max_length=64,
                        verbose_name="shipping address fingerprint",
                    ),
                ),
                migrations.AddIndex(model_name="ledgerentry", index=PARTIAL["order"]),
                migrations.AddIndex(model_name="ledgerentry", index=PARTIAL["refund"]),
                migrations.AddIndex(model_name="ledgerentry", index=PARTIAL["staff"]),
                migrations.AddIndex(model_name="ledgerentry", index=PARTIAL["corrects"]),
            ],
            database_operations=[migrations.RunPython(narrow, widen, elidable=False)],
        ),
    ]
