"""A list page is one audit event naming its rows; a GIN index finds the pages that showed a case.

PostgreSQL only (jsonb_path_ops): on SQLite the index is in the migration state but not created.
"""

import django.contrib.postgres.indexes
from django.db import migrations, models

from navigator.migration_operations import AddIndexOnPostgreSQL


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0004_casekey"),
    ]

    operations = [
        AddIndexOnPostgreSQL(
            model_name="auditevent",
            index=django.contrib.postgres.indexes.GinIndex(
                condition=models.Q(("action", "list")),
                fields=["detail"],
                name="audit_list_detail",
                opclasses=["jsonb_path_ops"],
            ),
        ),
    ]
