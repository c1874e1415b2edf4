"""Limits where money is at stake, in the database: check constraints on orders, refunds, lots, rates and
ledger entries (only a clawback may take a balance below zero), and on PostgreSQL a trigger that refuses
TRUNCATE of the ledger (0003 refuses UPDATE and DELETE).

TRUNCATE is what Django's ``flush`` (and the test suite's transactional tests) use to empty tables; a session
that really must empty the ledger says so first with ``SET klubb.allow_ledger_truncate = 'on'``
(tests/conftest.py does it for the test database's connections).
"""

from django.conf import settings
from django.db import migrations, models

CREATE = """
CREATE OR REPLACE FUNCTION loyalty_ledgerentry_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('klubb.allow_ledger_truncate', true), '') <> 'on' THEN
        RAISE EXCEPTION 'ledger entries are immutable: TRUNCATE of loyalty_ledgerentry is refused'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER loyalty_ledgerentry_refuse_truncate
BEFORE TRUNCATE ON loyalty_ledgerentry
FOR EACH STATEMENT EXECUTE FUNCTION loyalty_ledgerentry_refuse_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS loyalty_ledgerentry_refuse_truncate ON loyalty_ledgerentry;
DROP FUNCTION IF EXISTS loyalty_ledgerentry_refuse_truncate();
"""


def create_trigger(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_trigger(apps, schema_editor):  # noqa: ANN001, ANN201
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0015_translations'),
        ('members', '0007_message_templates'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(create_trigger, drop_trigger),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('kind__in', ['earn', 'bonus', 'redeem', 'expire', 'adjust', 'clawback'])), name='entry_kind_known'),
        ),
        migrations.AddConstraint(
            model_name='ledgerentry',
            constraint=models.CheckConstraint(condition=models.Q(('balance_after__gte', 0), ('points__gt', 0), ('kind', 'clawback'), _connector='OR'), name='entry_only_clawback_goes_negative'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('tax__gte', 0), ('tax__lte', models.F('amount'))), name='order_tax_within_amount'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('refunded_amount__gte', 0)), name='order_refunded_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('points_awarded__gte', 0), ('points_clawed_back__gte', 0)), name='order_points_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(('tier_points_awarded__gte', 0), ('tier_points_clawed_back__gte', 0), ('tier_points_clawed_back__lte', models.F('tier_points_awarded'))), name='order_tier_clawback_within_award'),
        ),
        migrations.AddConstraint(
            model_name='pointslot',
            constraint=models.CheckConstraint(condition=models.Q(('points__gt', 0)), name='lot_points_positive'),
        ),
        migrations.AddConstraint(
            model_name='programme',
            constraint=models.CheckConstraint(condition=models.Q(('points_per_unit__gte', 0)), name='programme_rate_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='programme',
            constraint=models.CheckConstraint(condition=models.Q(('max_order_amount__gt', 0)), name='programme_max_order_positive'),
        ),
        migrations.AddConstraint(
            model_name='refund',
            constraint=models.CheckConstraint(condition=models.Q(('points_clawed_back__gte', 0)), name='refund_clawback_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='shop',
            constraint=models.CheckConstraint(condition=models.Q(('points_per_unit__isnull', True), ('points_per_unit__gte', 0), _connector='OR'), name='shop_rate_non_negative'),
        ),
        migrations.AddConstraint(
            model_name='tier',
            constraint=models.CheckConstraint(condition=models.Q(('multiplier__gte', 0)), name='tier_multiplier_non_negative'),
        ),
    ]
