# Outgoing webhooks (issue 14, finding 3): a subscription whose attempts run out of time is held back, a switched-off
# subscription's deliveries are cancelled, and subscription URLs are https outside development.

import loyalty.models.events
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('loyalty', '0030_support_limit_per_day'),
    ]

    operations = [
        migrations.AddField(
            model_name='webhooksubscription',
            name='held_until',
            field=models.DateTimeField(blank=True, help_text='An attempt ran out of time: until then nothing is sent to this URL, then one attempt at a time until it answers.', null=True, verbose_name='held back until'),
        ),
        migrations.AddField(
            model_name='webhooksubscription',
            name='slow_streak',
            field=models.PositiveSmallIntegerField(default=0, help_text='Attempts that ran out of time, one after the other; an answer in time resets it.', verbose_name='timed-out attempts in a row'),
        ),
        migrations.AlterField(
            model_name='webhookdelivery',
            name='status',
            field=models.CharField(choices=[('pending', 'Pending'), ('delivered', 'Delivered'), ('failed', 'Failed (gave up)'), ('cancelled', 'Stopped: subscription inactive')], default='pending', max_length=10, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='webhooksubscription',
            name='is_active',
            field=models.BooleanField(default=True, help_text='Switching a subscription off stops its pending deliveries.', verbose_name='active'),
        ),
        migrations.AlterField(
            model_name='webhooksubscription',
            name='url',
            field=models.URLField(max_length=500, validators=[loyalty.models.events.WebhookURLValidator()], verbose_name='URL'),
        ),
    ]
