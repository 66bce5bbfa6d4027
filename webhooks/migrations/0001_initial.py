"""The webhook models, moved from ``hospitals`` without touching the database.

Their tables keep the names they were created with (``hospitals_webhook*``, by hospitals
0002 and 0004), so only Django's idea of which app owns them changes: this migration creates the
models in the webhooks app's state, hospitals 0006 removes them from the hospitals app's state,
and neither runs any SQL.
"""

import django.db.models.deletion
import django.utils.timezone
import webhooks.models
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('hospitals', '0005_periodic_tasks'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.CreateModel(
                    name='WebhookEndpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('url', models.URLField(max_length=500, validators=[webhooks.models.validate_endpoint_url])),
                        ('description', models.CharField(blank=True, max_length=200)),
                        ('secret', models.CharField(default=webhooks.models.new_signing_secret, editable=False, max_length=100)),
                        ('event_types', models.JSONField(blank=True, default=list, help_text='Empty means every event type.')),
                        ('is_active', models.BooleanField(default=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('hospital', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_endpoints', to='hospitals.hospital')),
                    ],
                    options={
                        'db_table': 'hospitals_webhookendpoint',
                        'ordering': ['hospital', 'id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookEvent',
                    fields=[
                        ('id', models.CharField(default=webhooks.models.new_event_id, editable=False, max_length=40, primary_key=True, serialize=False)),
                        ('type', models.CharField(choices=[('referral.sent', 'A referral (or a new packet version) was sent'), ('packet.updated', 'A new packet version is available'), ('message.posted', 'The coordinator posted a message'), ('deadline.near', 'A response deadline is near')], max_length=40)),
                        ('payload', models.JSONField()),
                        ('created_at', models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                        ('dedupe_key', models.CharField(blank=True, max_length=120, null=True, unique=True)),
                        ('hospital', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='webhook_events', to='hospitals.hospital')),
                    ],
                    options={
                        'db_table': 'hospitals_webhookevent',
                        'ordering': ['-created_at'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookDelivery',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('succeeded', 'Delivered'), ('failed', 'Failed (retries exhausted)')], db_index=True, default='pending', max_length=20)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('attempt_offset', models.PositiveSmallIntegerField(default=0, editable=False)),
                        ('next_attempt_at', models.DateTimeField(blank=True, db_index=True, null=True)),
                        ('last_attempt_at', models.DateTimeField(blank=True, null=True)),
                        ('last_status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('last_error', models.CharField(blank=True, max_length=500)),
                        ('delivered_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('endpoint', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhookendpoint')),
                        ('event', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='deliveries', to='webhooks.webhookevent')),
                    ],
                    options={
                        'verbose_name_plural': 'webhook deliveries',
                        'db_table': 'hospitals_webhookdelivery',
                        'ordering': ['-created_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='WebhookAttempt',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveSmallIntegerField()),
                        ('at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('status_code', models.PositiveSmallIntegerField(blank=True, null=True)),
                        ('error', models.CharField(blank=True, max_length=500)),
                        ('response_excerpt', models.CharField(blank=True, max_length=500)),
                        ('duration_ms', models.PositiveIntegerField(default=0)),
                        ('delivery', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempt_log', to='webhooks.webhookdelivery')),
                    ],
                    options={
                        'db_table': 'hospitals_webhookattempt',
                        'ordering': ['delivery', 'number'],
                        'constraints': [models.UniqueConstraint(fields=('delivery', 'number'), name='one_attempt_number_per_delivery')],
                    },
                ),
                migrations.AddConstraint(
                    model_name='webhookendpoint',
                    constraint=models.UniqueConstraint(fields=('hospital', 'url'), name='one_endpoint_per_url'),
                ),
                migrations.AddIndex(
                    model_name='webhookdelivery',
                    index=models.Index(fields=['status', 'next_attempt_at'], name='hospitals_w_status_e8a820_idx'),
                ),
                migrations.AddConstraint(
                    model_name='webhookdelivery',
                    constraint=models.UniqueConstraint(fields=('event', 'endpoint'), name='one_delivery_per_event_endpoint'),
                ),
            ],
        ),
    ]
