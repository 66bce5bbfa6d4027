import pytest
from django.db import DatabaseError, connection, transaction

from audit.models import AuditEvent
from audit.services import audit_record


def test_events_cannot_be_changed_or_deleted_through_the_app(world):
    event = audit_record(actor=world.alice, action="view", obj=world.case_a)
    assert event.case_id == world.case_a.pk and event.case_reference == world.case_a.reference
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(action="delete")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL")
def test_the_database_refuses_changes_too(world):
    event = audit_record(actor=world.alice, action="view", obj=world.case_a)
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditevent SET action = 'x' WHERE id = %s", [event.pk])
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM audit_auditevent WHERE id = %s", [event.pk])


def test_system_actors_are_named(world):
    event = audit_record(actor="scheduling.sweep", action="send", obj=world.case_a)
    assert event.actor is None and event.actor_label == "scheduling.sweep" and event.actor_role == "system"
