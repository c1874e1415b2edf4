# API key scopes and what a shop may see of members (issue 14, finding 4).
#
# Keys made before scopes existed could do everything and see every member; so that no shop's integration breaks,
# they keep that: every scope, members:all included (the admin marks such keys, for staff to narrow). New keys get
# the operational scopes without members:all. A ShopCustomer row may now have no customer id: it records that the
# shop enrolled the member. Webhook subscriptions follow the same rule: existing ones stay club-wide (every
# member's events, as before), new ones receive only the events about their shop's customers.

from django.db import migrations, models

import loyalty.models.shops

# The scopes as they are named in the API (stable: never renamed), so this migration does not depend on the code.
EVERY_SCOPE = [
    "orders",
    "members:read",
    "members:write",
    "consents",
    "redemptions",
    "vouchers",
    "events",
    "referrals",
    "members:all",
]


def existing_keys_and_subscriptions_keep_everything(apps, schema_editor):
    apps.get_model("loyalty", "ApiKey").objects.update(scopes=EVERY_SCOPE)
    apps.get_model("loyalty", "WebhookSubscription").objects.update(club_wide=True)


def forget_customers_without_an_id(apps, schema_editor):
    """Backwards: before this migration every link had the shop's id (and one shop's ids were unique)."""
    apps.get_model("loyalty", "ShopCustomer").objects.filter(external_id="").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0031_webhook_hardening"),
    ]

    operations = [
        migrations.AddField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(default=loyalty.models.shops.default_scopes, editable=False, verbose_name="scopes"),
        ),
        migrations.AddField(
            model_name="webhooksubscription",
            name="club_wide",
            field=models.BooleanField(
                default=False,
                help_text="Off: only events about this shop's own customers. On: events about every member of the club.",
                verbose_name="every member's events",
            ),
        ),
        migrations.RunPython(existing_keys_and_subscriptions_keep_everything, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="shopcustomer",
            name="external_id",
            field=models.CharField(blank=True, default="", max_length=100, verbose_name="shop's customer id"),
        ),
        migrations.RemoveConstraint(
            model_name="shopcustomer",
            name="shopcustomer_external_id_unique",
        ),
        migrations.AddConstraint(
            model_name="shopcustomer",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id", ""), _negated=True),
                fields=("shop", "external_id"),
                name="shopcustomer_external_id_unique",
            ),
        ),
        migrations.RunPython(migrations.RunPython.noop, forget_customers_without_an_id, elidable=True),
    ]
