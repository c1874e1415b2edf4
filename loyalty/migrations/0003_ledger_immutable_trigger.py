"""On PostgreSQL the database itself refuses UPDATE and DELETE of ledger entries.

The model refuses them too, but raw SQL, a shell or a future bug should not be able to rewrite
what members were paid. TRUNCATE (used by test teardown) is not affected.
"""

from __future__ import annotations

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION loyalty_ledgerentry_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable: append a correcting entry instead'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER loyalty_ledgerentry_immutable
BEFORE UPDATE OR DELETE ON loyalty_ledgerentry
FOR EACH ROW EXECUTE FUNCTION loyalty_ledgerentry_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS loyalty_ledgerentry_immutable ON loyalty_ledgerentry;
DROP FUNCTION IF EXISTS loyalty_ledgerentry_immutable();
"""


def create_trigger(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0002_initial")]

    operations = [migrations.RunPython(create_trigger, drop_trigger)]
