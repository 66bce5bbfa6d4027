"""A user the audit trail names is deactivated, never deleted: the trail is append-only, and
deleting the user would have to rewrite it (the database refuses; the admin answered 500)."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token

from accounts.models import User
from audit.models import AuditEvent
from audit.services import audit_record
from cases.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world):
    world.sam.is_superuser = True  # the user admin needs the auth permissions
    world.sam.save()
    client = Client()
    client.force_login(world.sam)
    return client


def test_deleting_a_user_with_audit_history_deactivates_them_with_a_clear_message(world, admin_client):
    leaver = world.bob
    audit_record(actor=leaver, action="view", obj=world.case_a, case=world.case_a)
    Token.objects.create(user=leaver)
    url = f"/admin/accounts/user/{leaver.pk}/delete/"
    page = admin_client.get(url)
    assert page.status_code == 200 and "cannot be deleted" in page.content.decode()
    done = admin_client.post(url, follow=True)
    assert done.status_code == 200
    assert "was deactivated, not deleted" in done.content.decode()
    leaver.refresh_from_db()
    assert not leaver.is_active and not Token.objects.filter(user=leaver).exists()
    assert AuditEvent.objects.filter(actor=leaver, action="view").exists()
    assert AuditEvent.objects.filter(object_id=str(leaver.pk), action="update", actor=world.sam).exists()


def test_the_user_list_offers_deactivation_instead_of_delete(world, admin_client):
    page = admin_client.get("/admin/accounts/user/").content.decode()
    assert 'value="delete_selected"' not in page and 'value="deactivate_selected"' in page
    audit_record(actor=world.bob, action="view", obj=world.case_a, case=world.case_a)
    admin_client.post(
        "/admin/accounts/user/", {"action": "deactivate_selected", "_selected_action": [world.bob.pk, world.sam.pk]}
    )
    world.bob.refresh_from_db()
    world.sam.refresh_from_db()
    assert not world.bob.is_active and world.sam.is_active  # never oneself


def test_a_user_with_no_history_can_still_be_deleted(world, admin_client):
    mistake = UserFactory(username="typo-account")
    response = admin_client.post(f"/admin/accounts/user/{mistake.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not User.objects.filter(pk=mistake.pk).exists()
