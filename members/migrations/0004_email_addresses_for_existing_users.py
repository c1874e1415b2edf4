"""Give every existing user an allauth EmailAddress (unverified), so that members a shop enrolled
before the portal existed can claim their account with a sign-in code or a password reset."""

from django.db import migrations


def add_missing_addresses(apps, schema_editor):
    User = apps.get_model("members", "User")
    EmailAddress = apps.get_model("account", "EmailAddress")
    missing = User.objects.exclude(id__in=EmailAddress.objects.values("user_id"))
    EmailAddress.objects.bulk_create(
        [EmailAddress(user_id=user.pk, email=user.email, primary=True, verified=False) for user in missing.iterator()],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0003_user_email_message"),
        ("account", "0009_emailaddress_unique_primary_email"),
    ]

    operations = [migrations.RunPython(add_missing_addresses, migrations.RunPython.noop)]
