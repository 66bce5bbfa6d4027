"""Queues by kind of work: every task has a queue, and a worker group per queue consumes it."""

import pytest
from django.conf import settings

from navigator.celery import app
from navigator.routing import DEFAULT_QUEUE, QUEUES, queue_for


@pytest.fixture(scope="module")
def registered():
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if not name.startswith("celery."))


def test_every_registered_task_is_routed_to_a_known_queue(registered):
    assert registered, "no tasks registered"
    for name in registered:
        route = app.amqp.router.route({}, name)
        assert route["queue"].name in QUEUES, name


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("scheduling.reminder_send", "reminders"),
        ("scheduling.reminders_sweep", "reminders"),
        ("webhooks.tasks.webhook_deliver", "webhooks"),
        ("webhooks.tasks.webhook_dispatch_due", "webhooks"),
        ("documents.uploads_expire", "maintenance"),
        ("outbox.purge_sent", "maintenance"),
        ("privacy.erase_case", "maintenance"),
        ("eligibility.assessments_rerun_daily", "maintenance"),
        ("notifications.anything_new", "reminders"),
        ("documents.some_processing", "documents"),
        ("hospitals.packet_render", "documents"),
        ("hospitals.tasks.referral_deadlines_scan", "default"),
        ("someapp.unheard_of", DEFAULT_QUEUE),
    ],
)
def test_tasks_go_to_the_queue_of_their_kind(task, queue):
    assert queue_for(task) == queue


def test_a_webhook_delivery_never_shares_a_queue_with_reminders(registered):
    webhook_queues = {queue_for(n) for n in registered if n.startswith("webhooks.")}
    reminder_queues = {queue_for(n) for n in registered if n.startswith("scheduling.")}
    assert webhook_queues == {"webhooks"} and reminder_queues == {"reminders"}


def test_a_worker_without_q_consumes_every_queue():
    assert sorted(q.name for q in app.conf.task_queues) == sorted(QUEUES)
    assert settings.CELERY_TASK_DEFAULT_QUEUE == DEFAULT_QUEUE


def test_every_queue_has_a_worker_in_docker_compose_and_kubernetes():
    from pathlib import Path

    import yaml

    root = Path(settings.BASE_DIR)
    compose = yaml.safe_load((root / "docker-compose.yml").read_text())
    compose_queues = {
        cmd.split(" -Q ", 1)[1].split()[0]
        for service in compose["services"].values()
        if " -Q " in (cmd := str(service.get("command", "")))
    }
    k8s_queues = set()
    for path in (root / "deploy" / "k8s").glob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Deployment":
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    command = container.get("command", [])
                    if "-Q" in command:
                        k8s_queues.add(command[command.index("-Q") + 1])
    assert compose_queues == set(QUEUES)
    assert k8s_queues == set(QUEUES)
