"""What else named the webhook models by their old app: content types and the sweeper's schedule.

- The content types of the four models are relabelled from ``hospitals`` to ``webhooks``, so the
  permissions that point at them (and anything else keyed on a content type) keep working.
  On a new database there are none yet: Django creates them after migrating.
- The periodic sweeper runs the task under its new name. Deliveries themselves live in the
  database, so a task message queued under the old name and dropped by an upgraded worker
  loses nothing: the sweeper sends every pending, due delivery again within a minute.
"""

from django.db import migrations

MODELS = ["webhookendpoint", "webhookevent", "webhookdelivery", "webhookattempt"]
SWEEPER = {
    "old": ("hospitals: send due webhook deliveries", "hospitals.tasks.webhook_dispatch_due"),
    "new": ("webhooks: send due webhook deliveries", "webhooks.tasks.webhook_dispatch_due"),
}


def _move(apps, *, source: str, target: str, sweeper_from: str, sweeper_to: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not ContentType.objects.filter(app_label=target, model=model).exists():
            ContentType.objects.filter(app_label=source, model=model).update(app_label=target)
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    name, task = SWEEPER[sweeper_to]
    PeriodicTask.objects.filter(name=SWEEPER[sweeper_from][0]).update(name=name, task=task)


def forwards(apps, schema_editor):
    _move(apps, source="hospitals", target="webhooks", sweeper_from="old", sweeper_to="new")


def backwards(apps, schema_editor):
    _move(apps, source="webhooks", target="hospitals", sweeper_from="new", sweeper_to="old")


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("hospitals", "0005_periodic_tasks"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
