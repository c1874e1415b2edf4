"""Install the default message texts (en, nb, da, sv) as editable templates."""

from django.db import migrations


def install(apps, schema_editor):
    from members.messaging import default_templates

    MessageTemplate = apps.get_model("members", "MessageTemplate")
    for row in default_templates():
        MessageTemplate.objects.get_or_create(
            kind=row["kind"],
            channel=row["channel"],
            language=row["language"],
            defaults={"subject": row["subject"], "body": row["body"]},
        )


class Migration(migrations.Migration):
    dependencies = [("members", "0006_messages")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
