"""Indexes for the case search (cases.selectors.case_search).

pg_trgm and GIN indexes exist on PostgreSQL only: on SQLite (the demo) the trigram indexes
are recorded in the migration state but not created, and the search takes its plain path.
"""

import django.contrib.postgres.indexes
import django.db.models.functions.text
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models


class AddIndexOnPostgreSQL(migrations.AddIndex):
    """AddIndex that creates the index on PostgreSQL and does nothing to other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def _trigram(field):
    return AddIndexOnPostgreSQL(
        model_name="patient",
        index=django.contrib.postgres.indexes.GinIndex(
            django.contrib.postgres.indexes.OpClass(django.db.models.functions.text.Upper(field), name="gin_trgm_ops"),
            name=f"patient_{field}_trgm",
        ),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cases", "0004_alter_case_status_alter_historicalcase_status"),
    ]

    operations = [
        # CREATE EXTENSION IF NOT EXISTS pg_trgm (a no-op on other databases).
        TrigramExtension(),
        migrations.AddIndex(
            model_name="case",
            index=models.Index(django.db.models.functions.text.Upper("reference"), name="case_reference_upper"),
        ),
        _trigram("family_name"),
        _trigram("given_name"),
        _trigram("native_name"),
    ]
