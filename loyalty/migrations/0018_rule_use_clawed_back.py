"""A campaign rule's cap per member counts the points the member kept: refunds give back their share.

Uses on orders refunded before this migration get their share now, by the refund's rule
(``loyalty.orders.refunds.clawback_target``: proportional, rounded down; all of it for a full refund).
"""

import math
from decimal import Decimal

from django.db import migrations, models

CHUNK = 5000


def shares_of_past_refunds(apps, schema_editor):
    EarningRuleUse = apps.get_model("loyalty", "EarningRuleUse")
    refunded = EarningRuleUse.objects.filter(order__refunded_amount__gt=0).select_related("order")
    changed = []
    for use in refunded.iterator(chunk_size=CHUNK):
        order = use.order
        if order.refunded_amount >= order.amount:
            use.clawed_back = use.points
        else:
            use.clawed_back = math.floor(Decimal(use.points) * order.refunded_amount / order.amount)
        changed.append(use)
        if len(changed) >= CHUNK:
            EarningRuleUse.objects.bulk_update(changed, ["clawed_back"])
            changed = []
    EarningRuleUse.objects.bulk_update(changed, ["clawed_back"])


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0017_order_tier"),
    ]

    operations = [
        migrations.AddField(
            model_name="earningruleuse",
            name="clawed_back",
            field=models.PositiveIntegerField(default=0, verbose_name="points clawed back"),
        ),
        migrations.RunPython(shares_of_past_refunds, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="earningruleuse",
            constraint=models.CheckConstraint(
                condition=models.Q(("clawed_back__lte", models.F("points"))),
                name="earning_rule_use_clawback_within",
            ),
        ),
    ]
