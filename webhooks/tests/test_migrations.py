"""Moving the webhook models out of ``hospitals`` keeps every row (state-only migrations)."""

import importlib

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_celery_beat.models import PeriodicTask

from navigator.testing import make_world
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

BEFORE = [("hospitals", "0005_periodic_tasks"), ("webhooks", None)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_rows_written_while_hospitals_owned_the_models_are_the_webhooks_apps_after_migrating():
    world = make_world()
    executor = _migrate(BEFORE)  # the database as main had it before the move
    old = executor.loader.project_state([BEFORE[0]]).apps
    assert ContentType.objects.filter(app_label="hospitals", model="webhookdelivery").exists()
    # What hospitals 0005 left on main (a flush by an earlier transactional test may have removed it).
    importlib.import_module("hospitals.migrations.0005_periodic_tasks").schedule(old, None)
    assert PeriodicTask.objects.filter(task="hospitals.tasks.webhook_dispatch_due").exists()
    endpoint = old.get_model("hospitals", "WebhookEndpoint").objects.create(
        hospital_id=world.pkuph.pk, url="https://his.example.cn/hooks", secret="whsec_c2VjcmV0"
    )
    event = old.get_model("hospitals", "WebhookEvent").objects.create(
        id="msg_before_the_move", hospital_id=world.pkuph.pk, type="referral.sent", payload={"type": "referral.sent"}
    )
    delivery = old.get_model("hospitals", "WebhookDelivery").objects.create(
        event_id=event.pk, endpoint_id=endpoint.pk, status="failed", attempts=1
    )
    old.get_model("hospitals", "WebhookAttempt").objects.create(delivery_id=delivery.pk, number=1, status_code=500)

    _migrate(None)

    moved = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery.pk)
    assert moved.event.id == "msg_before_the_move" and moved.endpoint.secret == "whsec_c2VjcmV0"
    assert moved.endpoint.hospital == world.pkuph
    assert [a.status_code for a in WebhookAttempt.objects.filter(delivery=moved)] == [500]
    assert WebhookEndpoint.objects.count() == WebhookEvent.objects.count() == 1
    assert WebhookDelivery._meta.db_table == "hospitals_webhookdelivery"
    # Permissions hang on content types: relabelled, not recreated.
    assert ContentType.objects.filter(app_label="webhooks", model="webhookdelivery").exists()
    assert not ContentType.objects.filter(app_label="hospitals", model__startswith="webhook").exists()
    sweeper = PeriodicTask.objects.get(name="webhooks: send due webhook deliveries")
    assert sweeper.task == "webhooks.tasks.webhook_dispatch_due"
