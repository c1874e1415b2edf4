"""Install the default texts of messages to segments, and make the audit trail append-only in PostgreSQL.

The model refuses updates and deletes too; the trigger keeps raw SQL and shells honest. TRUNCATE (test
teardown) is not affected.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION members_auditentry_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit entries are immutable'
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER members_auditentry_immutable
BEFORE UPDATE OR DELETE ON members_auditentry
FOR EACH ROW EXECUTE FUNCTION members_auditentry_immutable();
"""

DROP = """
DROP TRIGGER IF EXISTS members_auditentry_immutable ON members_auditentry;
DROP FUNCTION IF EXISTS members_auditentry_immutable();
"""


def install(apps, schema_editor):
    from members.messaging import default_templates

    MessageTemplate = apps.get_model("members", "MessageTemplate")
    for row in default_templates():
        if row["kind"] == "segment":
            MessageTemplate.objects.get_or_create(
                kind=row["kind"],
                channel=row["channel"],
                language=row["language"],
                defaults={"subject": row["subject"], "body": row["body"]},
            )


def create_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("members", "0008_audit_trail_and_segment_messages")]

    operations = [
        migrations.RunPython(install, migrations.RunPython.noop),
        migrations.RunPython(create_trigger, drop_trigger),
    ]
