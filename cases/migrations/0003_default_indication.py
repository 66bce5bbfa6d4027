from django.db import migrations


def create(apps, schema_editor):
    Indication = apps.get_model("cases", "Indication")
    Indication.objects.get_or_create(
        code="b-all-cd19-car-t",
        defaults={"name": "Relapsed/refractory B-cell ALL: CD19 CAR-T"},
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0002_initial")]
    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
