"""The daily re-assessment of open cases whose verdict time can change (django-celery-beat)."""

from django.db import migrations

TASK_NAME = "Re-assess open cases as time passes (birthdays, result validity)"


def forward(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    schedule, _ = CrontabSchedule.objects.get_or_create(
        minute="15", hour="0", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={
            "task": "eligibility.assessments_rerun_daily",
            "crontab": schedule,
            "enabled": True,
            "description": "Re-runs the pre-screen of open cases whose result changed with the date: a birthday "
            "crossing 1 year or 60, a CD19, CNS, marrow, fitness or organ result ageing past its validity window.",
        },
    )


def backward(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("eligibility", "0002_clinical_profile_fitness_organs_marrow"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(forward, backward)]
