import pytest

from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_emit

pytestmark = pytest.mark.django_db


def test_a_failed_delivery_is_replayed_from_the_admin(world, admin_client, django_capture_on_commit_callbacks):
    endpoint = WebhookEndpoint.objects.create(hospital=world.pkuph, url="https://his.example.cn/h")
    event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
    delivery = WebhookDelivery.objects.get(event=event, endpoint=endpoint)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="failed", attempts=8, next_attempt_at=None)
    assert admin_client.get("/admin/webhooks/webhookdelivery/?status__exact=failed").status_code == 200
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        admin_client.post(
            "/admin/webhooks/webhookdelivery/", {"action": "replay", "_selected_action": [delivery.pk]}, follow=True
        )
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempt_offset == 8 and len(callbacks) == 1
