"""Every stored address in its canonical form (``members.emails.email_canonical``), where that form is free.

An address whose canonical form another user already has is left as it is: those are two accounts of one
mailbox, for staff to settle (``manage.py email_collisions`` lists them); merging memberships is not a
migration's call.
"""

from django.db import migrations

from members.emails import email_canonical


def emails_canonical(apps, schema_editor):
    User = apps.get_model("members", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    changed = [
        (pk, email, email_canonical(email))
        for pk, email in User.objects.exclude(email=None).values_list("pk", "email").iterator(chunk_size=10_000)
        if email_canonical(email) != email
    ]
    for pk, email, canonical in changed:
        if User.objects.filter(email__iexact=canonical).exists():
            continue
        User.objects.filter(pk=pk).update(email=canonical)
        EmailAddress.objects.filter(user_id=pk, email__iexact=email).update(email=canonical)


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0012_phone_only_members"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(emails_canonical, migrations.RunPython.noop, elidable=True)]
