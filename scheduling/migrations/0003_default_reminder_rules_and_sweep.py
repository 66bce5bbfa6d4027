"""Default reminder rules per kind of milestone, and the periodic sweep as a beat task.

Both are rows, editable by an administrator in the admin afterwards.
"""

from django.db import migrations

# kind: [(offset_days, is_escalation, to_family, to_hospital)]
DEFAULT_RULES = {
    "apheresis": [(-7, False, True, False), (-1, False, True, False)],
    "donor_search": [(0, False, True, False), (7, True, False, False)],
    "lymphodepletion": [(-7, False, True, False), (-1, False, True, False)],
    "infusion": [(-7, False, True, False), (-1, False, True, False), (0, False, True, False)],
    "stay_near_centre": [(-7, False, True, False)],
    "mrd_day28": [(-7, False, True, True), (-1, False, True, True), (0, False, True, False), (3, True, False, True)],
    "mrd_day60": [(-7, False, True, True), (-1, False, True, True), (0, False, True, False), (3, True, False, True)],
    "transplant_planning": [(-1, False, False, False), (0, False, False, False), (7, True, False, False)],
    "transplant_window": [(-14, False, True, False), (-1, False, True, False)],
    "tki_maintenance": [(-1, False, False, False), (7, True, False, False)],
    "document_request": [(-7, False, True, False), (-1, False, True, False), (0, False, True, False), (3, True, False, False)],
    "referral_deadline": [(-1, False, False, False), (2, True, False, False)],
    "travel": [(-7, False, True, False), (-1, False, True, False)],
    "other": [(-1, False, True, False), (0, False, True, False)],
}

SWEEP_NAME = "Send due reminders and escalate overdue milestones"


def forwards(apps, schema_editor):
    ReminderRule = apps.get_model("scheduling", "ReminderRule")
    for kind, rules in DEFAULT_RULES.items():
        for offset, escalation, family, hospital in rules:
            ReminderRule.objects.get_or_create(
                kind=kind,
                offset_days=offset,
                is_escalation=escalation,
                defaults={"to_coordinator": True, "to_family": family, "to_hospital": hospital},
            )
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every_minute, _ = IntervalSchedule.objects.get_or_create(every=60, period="seconds")
    PeriodicTask.objects.get_or_create(
        name=SWEEP_NAME,
        defaults={
            "task": "scheduling.reminders_sweep",
            "interval": every_minute,
            "enabled": True,
            "description": "Claims due reminders and enqueues their sending; recovers reminders from workers "
            "that died mid-send; escalates checkpoints left without a result.",
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP_NAME).delete()
    apps.get_model("scheduling", "ReminderRule").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0002_events_mrd_reminders"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
