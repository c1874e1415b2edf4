"""Replenishment rules and reminders, and the default texts of the reminder message."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import loyalty.models.replenishment
from django.db import migrations, models


def install_templates(apps, schema_editor):
    from members.messaging import default_templates

    MessageTemplate = apps.get_model("members", "MessageTemplate")
    for row in default_templates():
        if row["kind"] == "replenishment":
            MessageTemplate.objects.get_or_create(
                kind=row["kind"],
                channel=row["channel"],
                language=row["language"],
                defaults={"subject": row["subject"], "body": row["body"]},
            )


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0035_dashboard_breakage'),
        ('members', '0014_message_claim'),
    ]

    operations = [
        migrations.CreateModel(
            name='ReplenishmentRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(help_text="For staff, e.g. 'Vitamins, 30 days'.", max_length=100, verbose_name='name')),
                ('sku', models.CharField(blank=True, help_text="The product's SKU. Fill in this or a category.", max_length=100, verbose_name='SKU')),
                ('category', models.CharField(blank=True, help_text="The shop's category (product type) of the products.", max_length=100, verbose_name='category')),
                ('interval_days', models.PositiveIntegerField(help_text='Days after an order the product usually runs out, e.g. 30 for vitamins, 90 for water filters.', validators=[django.core.validators.MinValueValidator(1), django.core.validators.MaxValueValidator(3650)], verbose_name='lasts (days)')),
                ('remind_days_before', models.PositiveIntegerField(default=5, help_text='How many days before it runs out the member is reminded.', validators=[django.core.validators.MaxValueValidator(3650)], verbose_name='remind (days before)')),
                ('message', models.TextField(blank=True, help_text="A line of your own in the reminder, per language, e.g. 'Order before Friday for free shipping.'", verbose_name='message')),
                ('message_en', models.TextField(blank=True, help_text="A line of your own in the reminder, per language, e.g. 'Order before Friday for free shipping.'", null=True, verbose_name='message')),
                ('message_nb', models.TextField(blank=True, help_text="A line of your own in the reminder, per language, e.g. 'Order before Friday for free shipping.'", null=True, verbose_name='message')),
                ('message_da', models.TextField(blank=True, help_text="A line of your own in the reminder, per language, e.g. 'Order before Friday for free shipping.'", null=True, verbose_name='message')),
                ('message_sv', models.TextField(blank=True, help_text="A line of your own in the reminder, per language, e.g. 'Order before Friday for free shipping.'", null=True, verbose_name='message')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
            ],
            options={
                'verbose_name': 'replenishment rule',
                'verbose_name_plural': 'replenishment rules',
                'ordering': ['name', 'id'],
                'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('sku', ''), models.Q(('category', ''), _negated=True)), models.Q(models.Q(('sku', ''), _negated=True), ('category', '')), _connector='OR'), name='replenishmentrule_sku_or_category'), models.CheckConstraint(condition=models.Q(('remind_days_before__lt', models.F('interval_days'))), name='replenishmentrule_remind_within_interval'), models.UniqueConstraint(condition=models.Q(('sku', ''), _negated=True), fields=('sku',), name='replenishmentrule_sku_unique'), models.UniqueConstraint(condition=models.Q(('category', ''), _negated=True), fields=('category',), name='replenishmentrule_category_unique')],
            },
        ),
        migrations.CreateModel(
            name='ReplenishmentReminder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('sku', models.CharField(max_length=100, verbose_name='SKU')),
                ('name', models.CharField(blank=True, max_length=255, verbose_name='product')),
                ('url', models.CharField(blank=True, max_length=500, validators=[loyalty.models.replenishment.ProductURLValidator()], verbose_name='product address')),
                ('due_at', models.DateTimeField(verbose_name='due')),
                ('status', models.CharField(choices=[('scheduled', 'Scheduled'), ('sent', 'Sent'), ('cancelled', 'Cancelled (bought again)'), ('skipped', 'Skipped (no way to reach the member)')], default='scheduled', max_length=16, verbose_name='status')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created')),
                ('cancelled_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='loyalty.order', verbose_name='cancelled by order')),
                ('followed_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='loyalty.order', verbose_name='followed by order')),
                ('member', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='replenishment_reminders', to='members.member', verbose_name='member')),
                ('order', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='loyalty.order', verbose_name='order')),
                ('rule', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='reminders', to='loyalty.replenishmentrule', verbose_name='rule')),
            ],
            options={
                'verbose_name': 'replenishment reminder',
                'verbose_name_plural': 'replenishment reminders',
                'ordering': ['-due_at', '-id'],
                'indexes': [models.Index(fields=['status', 'due_at'], name='replenishment_due_idx'), models.Index(fields=['member', 'sku', 'status'], name='replenishment_member_sku_idx'), models.Index(fields=['sent_at'], name='replenishment_sent_idx')],
                'constraints': [models.UniqueConstraint(fields=('order', 'sku'), name='replenishmentreminder_order_sku_unique'), models.CheckConstraint(condition=models.Q(models.Q(('sent_at__isnull', False), ('status', 'sent')), models.Q(('status', 'sent'), _negated=True), _connector='OR'), name='replenishmentreminder_sent_has_time')],
            },
        ),
        migrations.RunPython(install_templates, migrations.RunPython.noop),
    ]
