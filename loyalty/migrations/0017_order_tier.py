"""Each order remembers the tier it earned at, so that revenue per tier counts it there.

Orders recorded before this migration get the tier their earn entry names (``detail.tier``, the tier's name
in whatever language was active then); an order without one (no points, or a tier renamed or deleted since)
gets the member's tier now, which is what the dashboard counted before.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

CHUNK = 5000


def tiers_from_entries(apps, schema_editor):
    Tier = apps.get_model("loyalty", "Tier")
    Order = apps.get_model("loyalty", "Order")
    LedgerEntry = apps.get_model("loyalty", "LedgerEntry")
    PointsAccount = apps.get_model("loyalty", "PointsAccount")
    name_fields = [f.attname for f in Tier._meta.concrete_fields if f.attname == "name" or f.attname.startswith("name_")]
    by_name = {}
    for tier in Tier.objects.all():
        for attname in name_fields:
            if getattr(tier, attname):
                by_name.setdefault(getattr(tier, attname), tier.pk)
    pending = {}
    earned = LedgerEntry.objects.filter(kind="earn", order__isnull=False).values_list("order_id", "detail")
    for order_id, detail in earned.iterator(chunk_size=CHUNK):
        tier_id = by_name.get((detail or {}).get("tier"))
        if tier_id is not None:
            pending.setdefault(tier_id, []).append(order_id)
            if len(pending[tier_id]) >= CHUNK:
                Order.objects.filter(pk__in=pending.pop(tier_id)).update(tier_id=tier_id)
    for tier_id, order_ids in pending.items():
        Order.objects.filter(pk__in=order_ids).update(tier_id=tier_id)
    current = PointsAccount.objects.filter(member_id=OuterRef("member_id")).values("tier_id")[:1]
    Order.objects.filter(tier__isnull=True).update(tier_id=Subquery(current))


class Migration(migrations.Migration):

    dependencies = [
        ("loyalty", "0016_ledger_truncate_and_money_checks"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="tier",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="loyalty.tier",
                verbose_name="tier when ordered",
            ),
        ),
        migrations.RunPython(tiers_from_entries, migrations.RunPython.noop, elidable=True),
    ]
