"""A message's kind is one an app registered (``members.message_kinds``), not a list fixed in ``members``.

Only the field's choices change: no SQL, the column and its data stay as they are.
"""

import members.message_kinds
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("members", "0010_translations")]

    operations = [
        migrations.AlterField(
            model_name="message",
            name="kind",
            field=models.CharField(
                choices=members.message_kinds.message_kind_choices, max_length=32, verbose_name="message"
            ),
        ),
        migrations.AlterField(
            model_name="messagetemplate",
            name="kind",
            field=models.CharField(
                choices=members.message_kinds.message_kind_choices, max_length=32, verbose_name="message"
            ),
        ),
    ]
