"""A centre's webhook endpoints are created, changed and removed through services, each recorded."""

from audit.models import AuditEvent
from hospitals.tests.conftest import api
from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_create, webhook_endpoint_delete, webhook_endpoint_update

URL = "https://his.pkuph.example.cn/hooks"


def test_webhook_endpoint_update_changes_the_endpoint_and_records_the_fields(world):
    endpoint = webhook_endpoint_create(hospital=world.pkuph, url=URL, actor=world.dr_li)
    webhook_endpoint_update(endpoint=endpoint, actor=world.dr_li, data={"is_active": False, "description": "Paused"})
    endpoint.refresh_from_db()
    assert not endpoint.is_active and endpoint.description == "Paused"
    event = AuditEvent.objects.get(action="update", object_type="webhooks.WebhookEndpoint")
    assert event.detail == {"fields": ["description", "is_active"]} and event.actor == world.dr_li


def test_webhook_endpoint_delete_removes_the_endpoint_and_records_it(world):
    endpoint = webhook_endpoint_create(hospital=world.pkuph, url=URL, actor=world.dr_li)
    pk = endpoint.pk
    webhook_endpoint_delete(endpoint=endpoint, actor=world.dr_li)
    assert not WebhookEndpoint.objects.exists()
    assert AuditEvent.objects.filter(action="delete", object_id=str(pk)).count() == 1


def test_a_centre_changes_and_removes_its_endpoint_through_the_api(world, pkuph_key):
    client = api(token=pkuph_key)
    created = client.post("/api/v1/webhook-endpoints/", {"url": URL, "event_types": []}, format="json")
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    pk = created.json()["id"]
    changed = client.patch(f"/api/v1/webhook-endpoints/{pk}/", {"description": "HIS"}, format="json")
    assert changed.status_code == 200 and changed.json()["description"] == "HIS"
    assert client.delete(f"/api/v1/webhook-endpoints/{pk}/").status_code == 204
    assert not WebhookEndpoint.objects.filter(pk=pk).exists()
    actions = AuditEvent.objects.filter(object_type="webhooks.WebhookEndpoint").order_by("id")
    assert [e.action for e in actions] == ["create", "update", "delete"]


def test_another_centre_cannot_change_or_remove_the_endpoint(world, pkuph_key, ruijin_key):
    endpoint = webhook_endpoint_create(hospital=world.pkuph, url=URL, actor=world.dr_li)
    other = api(token=ruijin_key)
    assert (
        other.patch(f"/api/v1/webhook-endpoints/{endpoint.pk}/", {"description": "x"}, format="json").status_code == 404
    )
    assert other.delete(f"/api/v1/webhook-endpoints/{endpoint.pk}/").status_code == 404
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).description == ""
