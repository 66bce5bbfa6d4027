"""Run the webhook sweeper every minute and the referral deadline scan every 15 minutes."""

from django.db import migrations

TASKS = [
    ("hospitals: send due webhook deliveries", "hospitals.tasks.webhook_dispatch_due", 1),
    ("hospitals: tell centres of near response deadlines", "hospitals.tasks.referral_deadlines_scan", 15),
]


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, minutes in TASKS:
        every, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
        PeriodicTask.objects.update_or_create(name=name, defaults={"task": task, "interval": every, "enabled": True})


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name__in=[t[0] for t in TASKS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("hospitals", "0004_webhookdelivery_attempt_offset"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
