"""The audit trail cannot be erased by the application's own database role.

The runtime role is given rows, not tables (``grant_runtime_role``): it can record audit events
and read them, and nothing else on that table: not UPDATE, DELETE or TRUNCATE it, nor disable
the triggers that refuse those. The tests connect as such a role, as production does.
"""

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles exist on PostgreSQL")

ROLE = "navigator_runtime_test"


def _connect(user, autocommit=True):
    params = connection.get_connection_params()
    return psycopg.connect(
        host=params.get("host", "127.0.0.1"),
        port=params.get("port", 5432),
        dbname=connection.settings_dict["NAME"],
        user=user,
        autocommit=autocommit,
    )


@pytest.fixture(scope="module")
def runtime_role(django_db_setup, django_db_blocker):
    """The role and its grants, committed in the test database (grants made inside a test's
    transaction would be invisible to the role's own connection)."""
    with django_db_blocker.unblock():
        with connection.cursor() as cursor:
            cursor.execute(
                "DO $$ BEGIN CREATE ROLE navigator_runtime_test LOGIN; "
                "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
            )
        call_command("grant_runtime_role", ROLE)
    return ROLE


@pytest.fixture
def as_runtime(runtime_role):
    conn = _connect(runtime_role)
    yield conn
    conn.close()


def _refused(conn, statement):
    with pytest.raises(psycopg.Error) as refused:
        conn.execute(statement)
    return str(refused.value)


def test_the_runtime_role_can_record_and_read_audit_events(runtime_role):
    with _connect(runtime_role, autocommit=False) as conn:
        before = conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0]
        conn.execute(
            "INSERT INTO audit_auditevent (at, actor_label, actor_role, action, object_type, object_id, detail, "
            "case_reference) VALUES (now(), 'bob', 'coordinator', 'view', 'cases.Case', '2', '{}', '')"
        )
        assert conn.execute("SELECT count(*) FROM audit_auditevent").fetchone()[0] == before + 1
        conn.rollback()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET actor_label = 'nobody'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_no_update",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
        "DROP TRIGGER audit_event_no_truncate ON audit_auditevent",
        "DROP TABLE audit_auditevent",
    ],
)
def test_the_runtime_role_cannot_change_or_erase_the_trail(as_runtime, statement):
    message = _refused(as_runtime, statement)
    assert "permission denied" in message or "must be owner" in message, message


def test_truncate_is_refused_by_the_trigger_as_well_as_by_privilege(runtime_role, as_runtime):
    """Even a role that was granted TRUNCATE by mistake meets the trigger. (Every test runs in a
    transaction here, so the grant goes through a connection of the owner's own.)"""
    with _connect(connection.settings_dict["USER"] or "postgres") as owner:
        owner.execute(f"GRANT TRUNCATE ON audit_auditevent TO {runtime_role}")
        try:
            assert "append-only" in _refused(as_runtime, "TRUNCATE audit_auditevent")
        finally:
            owner.execute(f"REVOKE TRUNCATE ON audit_auditevent FROM {runtime_role}")


def test_the_runtime_role_may_work_every_other_table(as_runtime):
    as_runtime.execute("UPDATE cases_case SET priority = priority WHERE false")
    as_runtime.execute("DELETE FROM cases_case WHERE false")


@pytest.mark.django_db
def test_a_superuser_is_refused_as_runtime_role():
    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_runtime_role", connection.settings_dict["USER"] or "postgres")
