"""Tier moves get a history of their own (``TierChange``), filled from the outbox's ``tier.changed`` events.

Until now every move was written to the outbox whether or not a shop subscribed, and the dashboard counted
moves from those payloads' tier names. The fill matches those names to tiers in any language (a move made
while another language was active carries that language's name) and to members by public id; a move whose
tier or member no longer exists keeps no tier or is skipped. The outbox did not say what moved a member:
a past move up is recorded as an order's, a move down as the review's.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

NAME_FIELDS = ["name", *(f"name_{code.replace('-', '_')}" for code, _label in settings.LANGUAGES)]


def fill_from_outbox(apps, schema_editor):
    Tier = apps.get_model("loyalty", "Tier")
    TierChange = apps.get_model("loyalty", "TierChange")
    OutboxEvent = apps.get_model("loyalty", "OutboxEvent")
    Member = apps.get_model("members", "Member")
    tiers, threshold = {}, {}
    for tier in Tier.objects.all():
        threshold[tier.pk] = tier.threshold
        for field in NAME_FIELDS:
            name = getattr(tier, field, None)
            if name:
                tiers.setdefault(name, tier.pk)
    events = OutboxEvent.objects.filter(type="tier.changed").order_by("created_at", "pk")
    public_ids = {str(e.payload.get("member_id")) for e in events.only("payload")}
    members = dict(
        (str(public_id), pk) for pk, public_id in Member.objects.filter(public_id__in=public_ids).values_list(
            "pk", "public_id"
        )
    )
    rows = []
    for event in events.iterator():
        member_id = members.get(str(event.payload.get("member_id")))
        if member_id is None:
            continue
        before, after = tiers.get(event.payload.get("from")), tiers.get(event.payload.get("to"))
        up = threshold.get(after, 0) > threshold.get(before, -1)
        rows.append(TierChange(member_id=member_id, from_tier_id=before, to_tier_id=after, up=up,
                               reason="review" if not up else "order", changed_at=event.created_at))
    TierChange.objects.bulk_create(rows, batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0019_segment_spend_currency"),
        ("members", "0010_translations"),
    ]

    operations = [
        migrations.CreateModel(
            name="TierChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("up", models.BooleanField(verbose_name="upgrade")),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("order", "An order lifted them"),
                            ("review", "The tier review"),
                            ("import", "An order history import"),
                        ],
                        max_length=16,
                        verbose_name="reason",
                    ),
                ),
                ("changed_at", models.DateTimeField(db_index=True, verbose_name="changed")),
                (
                    "from_tier",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                        to="loyalty.tier", verbose_name="from tier",
                    ),
                ),
                (
                    "member",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="tier_changes",
                        to="members.member", verbose_name="member",
                    ),
                ),
                (
                    "to_tier",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                        to="loyalty.tier", verbose_name="to tier",
                    ),
                ),
            ],
            options={
                "verbose_name": "tier change",
                "verbose_name_plural": "tier changes",
                "ordering": ["-changed_at", "-id"],
            },
        ),
        migrations.RunPython(fill_from_outbox, migrations.RunPython.noop),
    ]
