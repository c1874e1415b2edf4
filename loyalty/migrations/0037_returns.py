"""Returns as data: staff's list of return reasons (seeded in en/nb/da/sv), a refund's reason, note and returned
lines, and the refund's own date (``occurred_at``), set to when Klubb recorded it for the refunds recorded so far.
Depends on 0035: 0036 is made on another branch at the same time."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models
from django.db.models import F

# code, then the label in en, nb, da, sv (the glossary's words)
REASONS = [
    ("too_small", "Too small", "For liten", "For lille", "För liten"),
    ("too_large", "Too large", "For stor", "For stor", "För stor"),
    ("damaged", "Damaged or faulty", "Skadet eller defekt", "Beskadiget eller defekt", "Skadad eller defekt"),
    ("not_as_described", "Not as described", "Ikke som beskrevet", "Ikke som beskrevet", "Inte som beskrivet"),
    ("changed_mind", "Changed their mind", "Angret kjøpet", "Fortrød købet", "Ångrade köpet"),
    ("wrong_item", "Wrong item sent", "Feil vare sendt", "Forkert vare sendt", "Fel vara skickad"),
    ("late", "Arrived too late", "Kom for sent", "Kom for sent", "Kom för sent"),
    ("other", "Other", "Annet", "Andet", "Annat"),
]


def reasons_seed(apps, schema_editor):
    ReturnReason = apps.get_model("loyalty", "ReturnReason")
    for position, (code, en, nb, da, sv) in enumerate(REASONS):
        ReturnReason.objects.get_or_create(
            code=code,
            defaults={"label": en, "label_en": en, "label_nb": nb, "label_da": da, "label_sv": sv,
                      "position": (position + 1) * 10},
        )  # fmt: skip


def occurred_when_recorded(apps, schema_editor):
    """A refund recorded before refunds had a date of their own happened, as far as Klubb knows, when recorded."""
    apps.get_model("loyalty", "Refund").objects.update(occurred_at=F("created_at"))


class Migration(migrations.Migration):
    dependencies = [
        ("loyalty", "0036_replenishment"),
    ]

    operations = [
        migrations.CreateModel(
            name="ReturnReason",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "code",
                    models.SlugField(help_text="What shops send, e.g. too_small.", unique=True, verbose_name="code"),
                ),
                ("label", models.CharField(max_length=100, verbose_name="label")),
                ("label_en", models.CharField(max_length=100, null=True, verbose_name="label")),
                ("label_nb", models.CharField(max_length=100, null=True, verbose_name="label")),
                ("label_da", models.CharField(max_length=100, null=True, verbose_name="label")),
                ("label_sv", models.CharField(max_length=100, null=True, verbose_name="label")),
                (
                    "is_active",
                    models.BooleanField(
                        default=True, help_text="Shops may send it with new refunds.", verbose_name="active"
                    ),
                ),
                (
                    "position",
                    models.PositiveSmallIntegerField(
                        default=0, help_text="Lower comes first.", verbose_name="position"
                    ),
                ),
            ],
            options={
                "verbose_name": "return reason",
                "verbose_name_plural": "return reasons",
                "ordering": ["position", "code"],
            },
        ),
        migrations.AddField(
            model_name="refund",
            name="note",
            field=models.CharField(blank=True, default="", max_length=500, verbose_name="note"),
        ),
        migrations.AddField(
            model_name="refund",
            name="occurred_at",
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name="refunded"),
        ),
        migrations.CreateModel(
            name="RefundLine",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("sku", models.CharField(max_length=100, verbose_name="SKU")),
                ("name", models.CharField(blank=True, default="", max_length=255, verbose_name="name")),
                ("category", models.CharField(blank=True, default="", max_length=100, verbose_name="category")),
                ("quantity", models.PositiveIntegerField(verbose_name="quantity")),
                ("amount", models.DecimalField(decimal_places=2, max_digits=14, verbose_name="refunded amount")),
                (
                    "refund",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="loyalty.refund",
                        verbose_name="refund",
                    ),
                ),
            ],
            options={
                "verbose_name": "returned line",
                "verbose_name_plural": "returned lines",
                "ordering": ["refund", "id"],
            },
        ),
        migrations.AddField(
            model_name="refund",
            name="reason",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="refunds",
                to="loyalty.returnreason",
                verbose_name="return reason",
            ),
        ),
        migrations.RunPython(occurred_when_recorded, migrations.RunPython.noop),
        migrations.RunPython(reasons_seed, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="refund",
            index=models.Index(fields=["occurred_at"], name="refund_occurred_idx"),
        ),
        migrations.AddConstraint(
            model_name="refundline",
            constraint=models.UniqueConstraint(fields=("refund", "sku"), name="refund_line_sku_unique"),
        ),
        migrations.AddConstraint(
            model_name="refundline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gte", 1)), name="refund_line_quantity_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="refundline",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gte", 0)), name="refund_line_amount_non_negative"
            ),
        ),
    ]
