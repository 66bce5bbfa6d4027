"""The trigram indexes of the case search write new patients straight into the index.

With GIN's default fastupdate, inserted rows wait in a pending list that every search reads
through (linearly) until a vacuum or a full list merges it: after a bulk insert of 100,000
patients a name search took 8 ms instead of 0.8. Patients are added a few at a time, so the
cheaper insert buys nothing here. The state changes the index definitions; the database changes
only the storage parameter (and merges what is pending), without rebuilding the indexes.
PostgreSQL only, like migration 0005.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.db import migrations

FIELDS = ("family_name", "given_name", "native_name")


def _index(field, **options):
    return django.contrib.postgres.indexes.GinIndex(
        django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper(field), name="gin_trgm_ops"),
        name=f"patient_{field}_trgm",
        **options,
    )


def _set_fastupdate(value: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for field in FIELDS:
            name = f"patient_{field}_trgm"
            schema_editor.execute(f"ALTER INDEX {name} SET (fastupdate = {value})")
            if value == "off":
                schema_editor.execute("SELECT gin_clean_pending_list(%s::regclass)", [name])

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0006_case_share"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                op
                for field in FIELDS
                for op in (
                    migrations.RemoveIndex(model_name="patient", name=f"patient_{field}_trgm"),
                    migrations.AddIndex(model_name="patient", index=_index(field, fastupdate=False)),
                )
            ],
            database_operations=[migrations.RunPython(_set_fastupdate("off"), _set_fastupdate("on"))],
        ),
    ]
