"""Open a points account at the entry tier for every member who has none.

Until now an account was opened with a member's first points, so a member who signed up in the portal and had
not earned yet had no level in the admin and the dashboard ("No tier") while the portal showed the entry tier.
New members get their account when they join (``loyalty.receivers.member_joined``); this opens the missing ones.
"""

from __future__ import annotations

from django.db import migrations
from django.utils import timezone

BATCH = 2000


def accounts_open(apps, schema_editor) -> None:
    Member = apps.get_model("members", "Member")
    PointsAccount = apps.get_model("loyalty", "PointsAccount")
    Tier = apps.get_model("loyalty", "Tier")
    entry = Tier.objects.order_by("threshold").first()
    now = timezone.now()
    missing = Member.objects.filter(points__isnull=True, erased_at__isnull=True).order_by("pk")
    ids = list(missing.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        PointsAccount.objects.bulk_create(
            [PointsAccount(member_id=member_id, tier=entry, tier_since=now) for member_id in ids[start : start + BATCH]],
            ignore_conflicts=True,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0033_storefront"),
        ("members", "0014_message_claim"),
    ]

    operations = [migrations.RunPython(accounts_open, migrations.RunPython.noop)]
