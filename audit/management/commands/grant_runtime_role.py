"""Give the runtime database role what the application needs, and not one privilege more.

Run as the owner of the tables, after every ``migrate`` (docker-compose's ``migrate`` service
and the Kubernetes migration job do)::

    DATABASE_URL=postgres://owner@db/navigator python manage.py grant_runtime_role navigator_app

The runtime role reads and writes rows, and uses sequences; it owns nothing, so it cannot
alter or drop a table or disable a trigger. On the audit trail it may only INSERT and SELECT:
no UPDATE, DELETE or TRUNCATE, on top of the triggers that refuse them.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

from audit.models import AuditEvent

APPEND_ONLY_TABLES = (AuditEvent._meta.db_table,)


class Command(BaseCommand):
    help = "Grant the runtime database role row access to every table, append-only on the audit trail."

    def add_arguments(self, parser):
        parser.add_argument("role", help="The runtime role, e.g. navigator_app (it must exist and own nothing).")

    def handle(self, *args, role: str, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
            row = cursor.fetchone()
            if row is None:
                raise CommandError(f"No role {role!r}: create it first (CREATE ROLE {role} LOGIN PASSWORD '...').")
            if row[0]:
                raise CommandError(f"{role!r} is a superuser; the runtime role must be an ordinary role.")
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tableowner = %s", [role]
            )
            owned = [name for (name,) in cursor.fetchall()]
            if owned:
                raise CommandError(f"{role!r} owns tables ({', '.join(owned[:5])}); migrations must run as the owner.")
            name = sql.Identifier(role)
            statements = [
                sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(
                    sql.Identifier(connection.settings_dict["NAME"]), name
                ),
                sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
                sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}").format(name),
                sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(name),
                *(
                    sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {} FROM {}").format(
                        sql.Identifier(table), name
                    )
                    for table in APPEND_ONLY_TABLES
                ),
            ]
            with transaction.atomic():
                for statement in statements:
                    cursor.execute(statement.as_string(connection.connection))
        self.stdout.write(f"{role}: rows of every table; append-only on {', '.join(APPEND_ONLY_TABLES)}.")
