"""The webhook models now belong to the ``webhooks`` app (its migration 0001).

State only: the tables stay where they are, under their old names, and are the webhooks app's
from here on. No row is copied, dropped or rewritten.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('hospitals', '0005_periodic_tasks'),
        ('webhooks', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.RemoveField(
                    model_name='webhookdelivery',
                    name='endpoint',
                ),
                migrations.RemoveField(
                    model_name='webhookdelivery',
                    name='event',
                ),
                migrations.RemoveField(
                    model_name='webhookendpoint',
                    name='created_by',
                ),
                migrations.RemoveField(
                    model_name='webhookendpoint',
                    name='hospital',
                ),
                migrations.RemoveField(
                    model_name='webhookevent',
                    name='hospital',
                ),
                migrations.DeleteModel(
                    name='WebhookAttempt',
                ),
                migrations.DeleteModel(
                    name='WebhookDelivery',
                ),
                migrations.DeleteModel(
                    name='WebhookEndpoint',
                ),
                migrations.DeleteModel(
                    name='WebhookEvent',
                ),
            ],
        ),
    ]
