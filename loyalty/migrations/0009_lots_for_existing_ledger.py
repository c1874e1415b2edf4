"""Open points lots for the ledger written before lots existed, by replaying each member's entries in order
(credits open lots; debits spend the oldest first), so that expiry can start from the true ages."""

from dateutil.relativedelta import relativedelta
from django.db import migrations


def replay(apps, schema_editor):
    LedgerEntry = apps.get_model("loyalty", "LedgerEntry")
    PointsLot = apps.get_model("loyalty", "PointsLot")
    Programme = apps.get_model("loyalty", "Programme")
    programme = Programme.objects.filter(pk=1).first()
    months = programme.points_expire_months if programme else None
    member_ids = LedgerEntry.objects.values_list("member_id", flat=True).distinct().order_by("member_id")
    for member_id in member_ids.iterator():
        lots, balance = [], 0
        for entry in LedgerEntry.objects.filter(member_id=member_id).order_by("id").iterator():
            if entry.points > 0:
                lot = PointsLot(
                    member_id=member_id,
                    entry_id=entry.pk,
                    points=entry.points,
                    remaining=max(0, entry.points - max(0, -balance)),
                    earned_at=entry.effective_at,
                    expires_at=entry.effective_at + relativedelta(months=months) if months else None,
                )
                lots.append(lot)
            else:
                need = -entry.points
                for lot in sorted((lot for lot in lots if lot.remaining), key=lambda lot: lot.earned_at):
                    take = min(lot.remaining, need)
                    lot.remaining -= take
                    need -= take
                    if not need:
                        break
            balance += entry.points
        PointsLot.objects.bulk_create(lots)


class Migration(migrations.Migration):
    dependencies = [("loyalty", "0008_points_lots_and_jobs")]

    operations = [migrations.RunPython(replay, migrations.RunPython.noop)]
