"""The audit trail refuses TRUNCATE too, not only UPDATE and DELETE.

The runtime database role is refused twice: it holds no TRUNCATE privilege on the table
(``manage.py grant_runtime_role``) and this trigger refuses the statement. The owner, which
runs migrations and could drop the trigger anyway, may still empty the table: Django's test
flush does.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_no_truncate() RETURNS trigger AS $$
BEGIN
    IF pg_has_role(current_user, (SELECT tableowner FROM pg_tables
                                  WHERE schemaname = TG_TABLE_SCHEMA AND tablename = TG_TABLE_NAME), 'USAGE') THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'audit events are append-only: TRUNCATE refused for role %%', current_user;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_no_truncate();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_no_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger")]
    operations = [migrations.RunPython(forward, backward)]
