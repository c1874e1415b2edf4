"""What each points lot lost to expiry (the dashboard's breakage per month issued), filled in from the expiry
entries written so far (each names the lots it took and how many points); an index for the points by when they
happened. Depends on 0033: 0034 (accounts for every member) is made on another branch at the same time."""

from django.db import migrations, models


def expired_from_entries(apps, schema_editor):
    LedgerEntry = apps.get_model("loyalty", "LedgerEntry")
    PointsLot = apps.get_model("loyalty", "PointsLot")
    expired: dict[int, int] = {}
    for detail in LedgerEntry.objects.filter(kind="expire").values_list("detail", flat=True).iterator():
        for lot_id, points in (detail or {}).get("lots") or []:
            expired[lot_id] = expired.get(lot_id, 0) + points
    ids = sorted(expired)
    for start in range(0, len(ids), 1000):
        lots = list(PointsLot.objects.filter(pk__in=ids[start : start + 1000]).only("id", "points"))
        for lot in lots:
            lot.expired = min(expired[lot.pk], lot.points)
        PointsLot.objects.bulk_update(lots, ["expired"])


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0034_accounts_for_every_member"),
    ]

    operations = [
        migrations.AddField(
            model_name="pointslot",
            name="expired",
            field=models.PositiveIntegerField(
                default=0,
                help_text="Points of this lot that expired unspent (the expiry job): the breakage the dashboard "
                "estimates.",
                verbose_name="expired",
            ),
        ),
        migrations.RunPython(expired_from_entries, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["effective_at"], name="entry_effective_idx"),
        ),
        migrations.AddConstraint(
            model_name="pointslot",
            constraint=models.CheckConstraint(
                condition=models.Q(("expired__lte", models.F("points"))), name="lot_expired_le_points"
            ),
        ),
    ]
