"""What a centre can do for itself: rotate its key and its signing secret, send itself test
events, and verify real deliveries with the official Standard Webhooks libraries, following
the integration guide's Python and JavaScript examples."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import shutil
import subprocess
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from hospitals.models import ApiCredential
from hospitals.services.referrals import referral_send
from hospitals.tests.conftest import api
from webhooks.models import EVENT_TYPE_VALUES, WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_attempt

from .test_webhooks import Receiver

EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples"


def _example_module():
    spec = importlib.util.spec_from_file_location("navigator_client", EXAMPLES / "python" / "navigator_client.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the centre's API key ------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_centre_rotates_its_own_key_and_the_old_one_says_when_it_stops(world, pkuph_key):
    old = api(token=pkuph_key)
    assert "Deprecation" not in old.get("/api/v1/referrals/")
    rotated = old.post("/api/v1/api-keys/rotate/", {"grace_hours": 2}, format="json")
    assert rotated.status_code == 201
    body = rotated.json()
    new = api(token=body["key"])
    assert new.get("/api/v1/referrals/").status_code == 200
    assert "Deprecation" not in new.get("/api/v1/referrals/")
    answer = old.get("/api/v1/referrals/")
    assert answer.status_code == 200
    deprecated_at = dt.datetime.fromtimestamp(int(answer["Deprecation"].removeprefix("@")), tz=dt.UTC)
    sunset = parsedate_to_datetime(answer["Sunset"])
    assert abs((deprecated_at - timezone.now()).total_seconds()) < 60
    assert abs((sunset - (timezone.now() + dt.timedelta(hours=2))).total_seconds()) < 60
    assert sunset == dt.datetime.fromisoformat(body["previous_key_expires_at"].replace("Z", "+00:00")).replace(
        microsecond=0
    )
    keys = {k["key_id"]: k for k in new.get("/api/v1/api-keys/").json()["results"]}
    assert keys[body["key_id"]]["current"] and keys[body["key_id"]]["rotated_from"] == body["previous_key_id"]
    # Rotating the old key again is a conflict; the new one can be rotated in its turn.
    assert old.post("/api/v1/api-keys/rotate/", {}, format="json").status_code == 409
    ApiCredential.objects.filter(key_id=body["previous_key_id"]).update(expires_at=timezone.now())
    assert old.get("/api/v1/referrals/").status_code == 401


@pytest.mark.django_db
def test_only_a_key_can_rotate_itself_and_the_grace_is_bounded(world, pkuph_key):
    session = api(user=world.dr_li)
    refused = session.post("/api/v1/api-keys/rotate/", {}, format="json")
    assert refused.status_code == 400 and "authorization" in refused.json()["fields"]
    too_long = api(token=pkuph_key).post("/api/v1/api-keys/rotate/", {"grace_hours": 169}, format="json")
    assert too_long.status_code == 400 and "grace_hours" in too_long.json()["fields"]


@pytest.mark.django_db
def test_a_centre_sees_only_its_own_keys(world, pkuph_key, ruijin_key):
    ids = {k["key_id"] for k in api(token=pkuph_key).get("/api/v1/api-keys/").json()["results"]}
    assert ids == set(ApiCredential.objects.filter(hospital=world.pkuph).values_list("key_id", flat=True))


# --- the signing secret --------------------------------------------------------------------------


@pytest.mark.django_db
def test_during_a_secret_rotation_deliveries_verify_with_either_secret(world, pkuph_key):
    client = api(token=pkuph_key)
    with Receiver() as receiver:
        created = client.post("/api/v1/webhook-endpoints/", {"url": receiver.url}, format="json").json()
        rotated = client.post(
            f"/api/v1/webhook-endpoints/{created['id']}/rotate-secret/", {"grace_hours": 1}, format="json"
        )
        assert rotated.status_code == 200 and rotated.json()["secret"] != created["secret"]
        sent = client.post(f"/api/v1/webhook-endpoints/{created['id']}/test/", {"type": "referral.sent"}, format="json")
        assert webhook_attempt(delivery_id=sent.json()["delivery_id"]) == "delivered"
        headers, body = receiver.requests[-1]
        for secret in (created["secret"], rotated.json()["secret"]):
            assert Webhook(secret).verify(body, headers)["type"] == "referral.sent"
        # Once the grace is over only the new secret signs.
        WebhookEndpoint.objects.filter(pk=created["id"]).update(previous_secret_expires_at=timezone.now())
        again = client.post(
            f"/api/v1/webhook-endpoints/{created['id']}/test/", {"type": "referral.sent"}, format="json"
        )
        webhook_attempt(delivery_id=again.json()["delivery_id"])
        headers, body = receiver.requests[-1]
        assert len(headers["webhook-signature"].split()) == 1
        assert Webhook(rotated.json()["secret"]).verify(body, headers)
        with pytest.raises(Exception, match="(?i)signature"):
            Webhook(created["secret"]).verify(body, headers)


# --- test events ----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("event_type", EVENT_TYPE_VALUES)
def test_a_centre_sends_itself_a_signed_test_event_of_each_type(world, pkuph_key, event_type):
    client = api(token=pkuph_key)
    with Receiver() as receiver:
        created = client.post(
            "/api/v1/webhook-endpoints/", {"url": receiver.url, "event_types": ["deadline.near"]}, format="json"
        ).json()
        sent = client.post(f"/api/v1/webhook-endpoints/{created['id']}/test/", {"type": event_type}, format="json")
        assert sent.status_code == 202
        assert webhook_attempt(delivery_id=sent.json()["delivery_id"]) == "delivered"
    headers, body = receiver.requests[0]
    event = Webhook(created["secret"]).verify(body, headers)
    assert headers["webhook-id"] == sent.json()["event_id"]
    assert event["type"] == event_type and event["test"] is True and event["data"]["test"] is True
    assert event["data"]["hospital"] == "pkuph"
    assert "NAV-TEST" in json.dumps(event) or "message_id" in event["data"]


@pytest.mark.django_db
def test_a_test_event_needs_a_known_type_an_active_endpoint_and_the_centres_own_endpoint(world, pkuph_key, ruijin_key):
    client = api(token=pkuph_key)
    created = client.post("/api/v1/webhook-endpoints/", {"url": "https://his.example.cn/h"}, format="json").json()
    url = f"/api/v1/webhook-endpoints/{created['id']}/test/"
    assert client.post(url, {"type": "nope"}, format="json").status_code == 400
    assert api(token=ruijin_key).post(url, {"type": "referral.sent"}, format="json").status_code == 404
    client.patch(f"/api/v1/webhook-endpoints/{created['id']}/", {"is_active": False}, format="json")
    assert client.post(url, {"type": "referral.sent"}, format="json").status_code == 409
    assert not WebhookDelivery.objects.exists()


# --- the integration guide's examples, run against real deliveries ---------------------------------


def _real_delivery(world, packet_world_referral, receiver, client) -> tuple[str, dict, bytes]:
    created = client.post("/api/v1/webhook-endpoints/", {"url": receiver.url}, format="json").json()
    referral_send(referral=packet_world_referral, actor=world.alice)
    delivery = WebhookDelivery.objects.get(endpoint_id=created["id"], event__type="referral.sent")
    assert webhook_attempt(delivery_id=delivery.pk) == "delivered"
    headers, body = receiver.requests[-1]
    return created["secret"], headers, body


class ClientSession:
    """The ``session`` the Python example takes (``requests.Session`` in production), over
    Django's test client."""

    def __init__(self, client):
        self.client = client

    def _wrap(self, response):
        response.raise_for_status = lambda: None if response.status_code < 400 else pytest.fail(response.content)
        return response

    def get(self, url, params=None, headers=None):
        return self._wrap(self.client.get(url, params or {}, HTTP_AUTHORIZATION=headers["Authorization"]))

    def post(self, url, headers=None):
        return self._wrap(self.client.post(url, HTTP_AUTHORIZATION=headers["Authorization"]))


@pytest.mark.django_db
def test_the_python_example_verifies_a_real_delivery_and_follows_it(packet_world, pkuph_key):
    from django.test import Client

    example = _example_module()
    with Receiver() as receiver:
        secret, headers, body = _real_delivery(packet_world, packet_world.referral, receiver, api(token=pkuph_key))
    event = example.verify_webhook(secret, headers, body)
    assert event["type"] == "referral.sent"
    assert example.verify_webhook(secret, headers, body + b" ") is None
    assert example.verify_webhook("whsec_" + "A" * 44, headers, body) is None
    session = ClientSession(Client())
    referral = example.handle_event(session, "http://testserver", pkuph_key, event)
    assert referral["id"] == event["data"]["referral_id"]
    assert [r["id"] for r in example.poll_referrals(session, "http://testserver", pkuph_key)] == [referral["id"]]
    later = (timezone.now() + dt.timedelta(minutes=1)).isoformat()
    assert example.poll_referrals(session, "http://testserver", pkuph_key, since=later) == []
    assert example.acknowledge(session, "http://testserver", pkuph_key, referral)["status"] == "acknowledged"


def _node_ready() -> str | None:
    """Why the JavaScript example cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (EXAMPLES / "javascript" / "node_modules" / "standardwebhooks").exists():
        npm = shutil.which("npm")
        if npm is None:
            return "npm is not installed to fetch the standardwebhooks package"
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLES / "javascript", capture_output=True, timeout=300
        )
        if done.returncode != 0:
            return "npm could not install the standardwebhooks package: " + done.stderr.decode()[-300:]
    return None


@pytest.mark.django_db
def test_the_javascript_example_verifies_a_real_delivery_with_node(packet_world, pkuph_key):
    reason = _node_ready()
    if reason:
        pytest.skip(f"the JavaScript example was not run: {reason}")
    with Receiver() as receiver:
        secret, headers, body = _real_delivery(packet_world, packet_world.referral, receiver, api(token=pkuph_key))

    def run(secret, body):
        data = json.dumps({"secret": secret, "headers": headers, "body": body.decode()})
        return subprocess.run(
            ["node", "verify-webhook.mjs"], cwd=EXAMPLES / "javascript", input=data.encode(), capture_output=True
        )

    good = run(secret, body)
    assert good.returncode == 0, good.stderr
    assert json.loads(good.stdout) == {"type": "referral.sent", "test": False}
    assert run(secret, body.replace(b"referral.sent", b"referral.sEnt")).returncode == 1
    assert run("whsec_" + "A" * 44, body).returncode == 1


def test_the_guides_code_is_the_code_the_tests_run():
    guide = (Path(settings.BASE_DIR) / "docs" / "integration-guide.md").read_text()
    python = (EXAMPLES / "python" / "navigator_client.py").read_text()
    javascript = (EXAMPLES / "javascript" / "verify-webhook.mjs").read_text()
    blocks = guide.split("```")[1::2]
    shown = [b.split("\n", 1)[1] for b in blocks if b.startswith(("python\n", "javascript\n"))]
    assert len(shown) == 3
    for block in shown:
        for part in block.strip().split("\n\n\n"):  # each function as it stands in the file
            assert part in python or part in javascript, part[:80]
