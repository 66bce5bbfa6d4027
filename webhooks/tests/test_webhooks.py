"""Webhooks against a real HTTP receiver on 127.0.0.1, verified by an implementation written here."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from hospitals.services.referrals import referral_deadlines_notify, referral_send
from hospitals.tests.conftest import api
from webhooks import egress
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent, validate_endpoint_url
from webhooks.services import webhook_attempt, webhook_emit, webhook_replay


def verify(secret: str, headers: dict, body: bytes) -> bool:
    """Standard Webhooks verification, written independently of the sender."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers["webhook-signature"].split() if s.startswith("v1,")]
    return any(hmac.compare_digest(expected, g) for g in given)


class Receiver:
    """An HTTP server in a thread that fails ``fail_first`` requests with 500, then answers 200."""

    def __init__(self, fail_first=0):
        self.fail_first = fail_first
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = 500 if len(receiver.requests) <= receiver.fail_first else 200
                self.send_response(code)
                self.end_headers()
                self.wfile.write(b"ok" if code == 200 else b"boom")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def endpoint_for(world):
    def make(url, hospital=None):
        return WebhookEndpoint.objects.create(hospital=hospital or world.pkuph, url=url)

    return make


def test_endpoints_must_use_https_except_localhost_in_tests(settings):
    validate_endpoint_url("https://his.example.cn/hooks")
    with pytest.raises(ValidationError):
        validate_endpoint_url("http://his.example.cn/hooks")
    validate_endpoint_url("http://127.0.0.1:9000/hooks")
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    with pytest.raises(ValidationError):
        validate_endpoint_url("http://127.0.0.1:9000/hooks")


def test_a_centre_registers_an_endpoint_and_sees_its_secret_once(world, pkuph_key, settings):
    client = api(token=pkuph_key)
    bad = client.post("/api/v1/webhook-endpoints/", {"url": "http://his.example.cn/x"}, format="json")
    assert bad.status_code == 400 and "url" in bad.json()["fields"]
    created = client.post(
        "/api/v1/webhook-endpoints/",
        {"url": "https://his.example.cn/x", "event_types": ["referral.sent"]},
        format="json",
    )
    assert created.status_code == 201 and created.json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhook-endpoints/").json()["results"]
    assert listed and "secret" not in listed[0]
    unknown = client.post(
        "/api/v1/webhook-endpoints/", {"url": "https://his.example.cn/y", "event_types": ["nope"]}, format="json"
    )
    assert unknown.status_code == 400


@pytest.mark.django_db
def test_a_delivery_is_signed_so_an_independent_verifier_accepts_it(world, endpoint_for):
    with Receiver() as receiver:
        endpoint = endpoint_for(receiver.url)
        event = webhook_emit(hospital=world.pkuph, type="message.posted", data={"message_id": 1})
        delivery = WebhookDelivery.objects.get(event=event)
        assert webhook_attempt(delivery_id=delivery.pk) == "delivered"
    headers, body = receiver.requests[0]
    assert verify(endpoint.secret, headers, body)
    assert headers["webhook-id"] == event.id
    assert abs(int(headers["webhook-timestamp"]) - timezone.now().timestamp()) < 30
    assert json.loads(body)["type"] == "message.posted"
    tampered = body.replace(b"message.posted", b"message.deleted")
    assert not verify(endpoint.secret, headers, tampered)


@pytest.mark.django_db
def test_a_failing_receiver_is_retried_on_the_backoff_schedule_until_it_recovers(world, endpoint_for, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [700, 1400, 2800]  # beyond a countdown: the sweeper re-sends
    with Receiver(fail_first=2) as receiver:
        endpoint_for(receiver.url)
        event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={"referral_id": 1})
        delivery = WebhookDelivery.objects.get(event=event)
        outcomes = []
        for expected_delay in (700, 1400, None):
            before = timezone.now()
            outcomes.append(webhook_attempt(delivery_id=delivery.pk))
            delivery.refresh_from_db()
            if expected_delay:
                wait = (delivery.next_attempt_at - before).total_seconds()
                assert expected_delay - 2 < wait < expected_delay + 2
                assert webhook_attempt(delivery_id=delivery.pk) == "skipped"  # not due yet
                WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())  # time passes
    assert outcomes == ["retry", "retry", "delivered"]
    assert delivery.status == "succeeded" and delivery.attempts == 3
    assert list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", flat=True)) == [
        500,
        500,
        200,
    ]
    ids = {h["webhook-id"] for h, _b in receiver.requests}
    assert ids == {event.id}  # the same id every time: the receiver can deduplicate


@pytest.mark.django_db
def test_a_delivery_gives_up_after_the_schedule_and_a_replay_starts_it_again(world, endpoint_for, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [700]
    with Receiver(fail_first=2) as receiver:
        endpoint_for(receiver.url)
        event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
        delivery = WebhookDelivery.objects.get(event=event)
        assert webhook_attempt(delivery_id=delivery.pk) == "retry"
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        assert webhook_attempt(delivery_id=delivery.pk) == "failed"
        delivery.refresh_from_db()
        assert delivery.status == "failed"
        webhook_replay(delivery=delivery, actor=world.alice)
        assert webhook_attempt(delivery_id=delivery.pk) == "delivered"
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 3


@pytest.mark.django_db
def test_an_unreachable_receiver_fails_fast_and_is_logged(world, endpoint_for, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [700]
    endpoint_for("http://127.0.0.1:9/nothing-listens-here")
    event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
    delivery = WebhookDelivery.objects.get(event=event)
    assert webhook_attempt(delivery_id=delivery.pk) == "retry"
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and "Connection" in attempt.error and attempt.duration_ms < 5000


@pytest.mark.django_db
def test_sending_a_referral_a_new_packet_and_a_near_deadline_emit_events_once(packet_world, endpoint_for):
    w = packet_world
    endpoint_for("https://his.example.cn/hooks")
    referral_send(referral=w.referral, actor=w.alice, response_due_at=timezone.now() + dt.timedelta(hours=10))
    from hospitals.tests.conftest import add_document

    add_document(w.case_a, w.alice, "mrd_report", "mrd")
    referral_send(referral=w.referral, actor=w.alice)
    assert referral_deadlines_notify() == 1  # a new packet keeps the deadline: 10 hours away
    assert referral_deadlines_notify() == 0
    types = list(WebhookEvent.objects.order_by("created_at").values_list("type", flat=True))
    assert types == ["referral.sent", "packet.updated", "deadline.near"]
    assert WebhookDelivery.objects.count() == 3
    payload = WebhookEvent.objects.get(type="referral.sent").payload
    assert "patient" not in json.dumps(payload) and payload["data"]["case_reference"] == w.case_a.reference


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_real_worker_retries_a_failing_receiver_until_it_recovers(world, tmp_path, settings):
    from django.conf import settings as live

    from hospitals.tests.worker import CeleryWorker, wait_until
    from navigator.celery import app

    if not live.CELERY_BROKER_URL.startswith("redis"):
        pytest.fail("This test needs Redis: run it with REDIS_URL=redis://127.0.0.1:6379/<n>.")
    app.control.purge()
    worker = CeleryWorker(
        log_path=tmp_path / "worker.log",
        env={"WEBHOOK_RETRY_SCHEDULE": "0.5,1", "WEBHOOKS_ALLOW_INSECURE_LOCALHOST": "1"},
    )
    with worker, Receiver(fail_first=2) as receiver:
        try:
            endpoint = WebhookEndpoint.objects.create(hospital=world.pkuph, url=receiver.url)
            from django.db import transaction

            with transaction.atomic():
                event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={"referral_id": 1})
            wait_until(
                lambda: WebhookDelivery.objects.filter(event=event, status="succeeded").exists(),
                timeout=40,
                message="delivered after two failures",
            )
        finally:
            app.control.purge()
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.attempts == 3
    times = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("number").values_list("at", flat=True))
    assert (times[1] - times[0]).total_seconds() >= 0.4
    assert (times[2] - times[1]).total_seconds() >= 0.9
    assert all(verify(endpoint.secret, h, b) for h, b in receiver.requests)


@pytest.mark.django_db
def test_the_verification_sample_in_the_docs_accepts_our_signatures(world, endpoint_for):
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    namespace = {}
    exec(code, namespace)  # the sample exactly as published
    with Receiver() as receiver:
        endpoint = endpoint_for(receiver.url)
        event = webhook_emit(hospital=world.pkuph, type="deadline.near", data={})
        webhook_attempt(delivery_id=WebhookDelivery.objects.get(event=event).pk)
    headers, body = receiver.requests[0]
    assert namespace["verify_navigator_webhook"](endpoint.secret, headers, body)
    assert not namespace["verify_navigator_webhook"](endpoint.secret, headers, body + b" ")


class TricklingReceiver(Receiver):
    """Answers at once with a status line, then sends its body a byte every 0.2 s (for minutes)."""

    def __init__(self, status=503):
        self.requests = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.requests.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(status)
                self.send_header("Content-Length", "2000")
                self.end_headers()
                self.wfile.flush()
                try:
                    for _ in range(2000):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        time.sleep(0.2)
                except OSError:
                    pass  # the sender gave up: what we want

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


# The attempt runs in a thread (to time it out), so on its own connection: committed rows needed,
# and the serialized rollback puts back the rows data migrations seeded.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_receiver_that_trickles_its_answer_holds_an_attempt_for_the_deadline_only(
    world, endpoint_for, settings, monkeypatch
):
    from webhooks import services as webhooks

    settings.WEBHOOK_RETRY_SCHEDULE = [700]
    monkeypatch.setattr(webhooks, "ATTEMPT_DEADLINE", 1, raising=False)
    outcome = {}
    with TricklingReceiver(status=503) as receiver:
        endpoint_for(receiver.url)
        event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
        delivery = WebhookDelivery.objects.get(event=event)
        worker = threading.Thread(target=lambda: outcome.update(result=webhook_attempt(delivery_id=delivery.pk)))
        started = time.monotonic()
        worker.start()
        worker.join(timeout=15)  # the whole 2000-byte answer would take 400 s
        took = time.monotonic() - started
    assert not worker.is_alive(), "the attempt is still reading the trickled answer"
    assert outcome["result"] == "retry" and took < 5
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 503 and 0 < len(attempt.response_excerpt) < 500


# --- no requests to internal addresses (SSRF) ----------------------------------------------------

INTERNAL_URLS = [
    "https://10.0.0.5/hooks",
    "https://172.16.3.4/hooks",
    "https://192.168.1.10/hooks",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://127.0.0.1/hooks",
    "https://[::1]/hooks",
    "https://[fe80::1]/hooks",
    "https://[fd00::5]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
    "https://0.0.0.0/hooks",
    "https://224.0.0.1/hooks",
    "https://240.0.0.1/hooks",
    "https://100.64.0.1/hooks",
    "https://localhost/hooks",
    "https://api.localhost/hooks",
    "https://metadata.google.internal/computeMetadata/v1/",
    "https://printer.local/hooks",
]


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_a_centre_cannot_register_an_endpoint_on_an_internal_address(world, pkuph_key, settings, url):
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    response = api(token=pkuph_key).post("/api/v1/webhook-endpoints/", {"url": url}, format="json")
    assert response.status_code == 400, response.content
    [message] = response.json()["fields"]["url"]
    assert "public internet addresses" in message
    assert not WebhookEndpoint.objects.exists()


def test_the_service_refuses_internal_addresses_on_the_url_field(world, settings):
    from webhooks.services import webhook_endpoint_create

    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_create(hospital=world.pkuph, url="https://169.254.169.254/hooks", actor=world.dr_li)
    assert "169.254.169.254 is a link-local address" in refused.value.message_dict["url"][0]
    with pytest.raises(ValidationError):
        webhook_endpoint_create(hospital=world.pkuph, url="https://127.0.0.1:8443/hooks", actor=world.dr_li)
    assert not WebhookEndpoint.objects.exists()
    assert webhook_endpoint_create(hospital=world.pkuph, url="https://his.example.cn/hooks", actor=world.dr_li)


@pytest.mark.parametrize("host", ["127.1", "0x7f.0.0.1", "2130706433", "0177.0.0.1", "10.1", "intranet", "LOCALHOST."])
def test_other_spellings_of_internal_hosts_are_refused(settings, host):
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    with pytest.raises(ValidationError) as refused:
        validate_endpoint_url(f"https://{host}/hooks")
    assert refused.value.code == "internal_address"


def test_loopback_is_allowed_only_with_the_test_setting(settings):
    settings.DEBUG = False
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = True
    validate_endpoint_url("https://localhost:8443/hooks")
    validate_endpoint_url("http://[::1]:9000/hooks")
    with pytest.raises(ValidationError):
        validate_endpoint_url("https://10.0.0.5/hooks")  # the setting opens loopback, nothing else
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    with pytest.raises(ValidationError):
        validate_endpoint_url("https://localhost:8443/hooks")


@pytest.fixture
def dns(monkeypatch):
    """A resolver for made-up names (answers given per call); other names resolve as usual."""
    import socket

    real = socket.getaddrinfo
    answers: dict[str, list[list[str]]] = {}
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        lookups.append(host)
        calls = answers[host]
        addresses = calls.pop(0) if len(calls) > 1 else calls[0]
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return type("DNS", (), {"answers": answers, "lookups": lookups})


@pytest.mark.parametrize(
    "addresses",
    [["127.0.0.1"], ["169.254.169.254"], ["10.20.30.40"], ["::ffff:127.0.0.1"]],
    ids=["loopback", "metadata", "private", "mapped-loopback"],
)
@pytest.mark.django_db
def test_a_name_that_resolves_to_an_internal_address_is_refused_at_delivery_without_retries(
    world, endpoint_for, settings, dns, addresses
):
    settings.WEBHOOK_RETRY_SCHEDULE = [5, 300]
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        # Registered while its name pointed elsewhere (or before this check existed).
        endpoint_for(f"https://hooks.pkuph.example:{port}/hooks")
        settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
        settings.DEBUG = False
        dns.answers["hooks.pkuph.example"] = [addresses]
        event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
        delivery = WebhookDelivery.objects.get(event=event)
        assert webhook_attempt(delivery_id=delivery.pk) == "failed"
    assert receiver.requests == []  # nothing was sent, not even a connection made
    delivery.refresh_from_db()
    assert delivery.status == "failed" and delivery.next_attempt_at is None and delivery.attempts == 1
    [blocked] = addresses
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert f"resolves to {blocked}" in attempt.error and "public internet addresses" in attempt.error
    assert delivery.last_error == attempt.error


def test_one_internal_address_among_public_ones_refuses_the_name(dns, settings):
    from webhooks.egress import BlockedAddress, resolve_public

    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    dns.answers["hooks.pkuph.example"] = [["93.184.216.34", "2606:2800:220:1::1", "10.0.0.9"]]
    with pytest.raises(BlockedAddress, match="resolves to 10.0.0.9, a private address"):
        resolve_public("https://hooks.pkuph.example/hooks")
    dns.answers["hooks.pkuph.example"] = [["93.184.216.34", "2606:2800:220:1::1"]]
    assert resolve_public("https://hooks.pkuph.example/hooks") == ["93.184.216.34", "2606:2800:220:1::1"]


@pytest.mark.django_db
def test_an_endpoint_registered_on_an_internal_ip_before_the_check_is_refused_at_delivery(
    world, endpoint_for, settings
):
    endpoint_for("https://10.0.0.5/hooks")
    event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
    delivery = WebhookDelivery.objects.get(event=event)
    assert webhook_attempt(delivery_id=delivery.pk) == "failed"
    assert "10.0.0.5 is a private address" in WebhookAttempt.objects.get(delivery=delivery).error


@pytest.mark.django_db
def test_the_request_goes_to_the_address_that_was_checked_not_a_second_answer(world, endpoint_for, dns):
    """DNS rebinding: the first answer passes the check, a second lookup would answer something
    else (here 127.0.0.2, where nothing listens). Only the first lookup is ever used."""
    with Receiver() as receiver:
        port = receiver.server.server_address[1]
        endpoint_for(f"http://hooks.pkuph.example:{port}/hooks")
        dns.answers["hooks.pkuph.example"] = [["127.0.0.1"], ["127.0.0.2"]]
        event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
        delivery = WebhookDelivery.objects.get(event=event)
        assert webhook_attempt(delivery_id=delivery.pk) == "delivered"
    assert dns.lookups == ["hooks.pkuph.example"]
    headers, _body = receiver.requests[0]
    assert headers["host"] == f"hooks.pkuph.example:{port}"  # the name, not the address, as the Host


@pytest.mark.django_db
def test_a_name_that_does_not_resolve_is_retried(world, endpoint_for, settings):
    settings.WEBHOOK_RETRY_SCHEDULE = [700]
    endpoint_for("https://no-such-host.invalid/hooks")
    event = webhook_emit(hospital=world.pkuph, type="referral.sent", data={})
    delivery = WebhookDelivery.objects.get(event=event)
    assert webhook_attempt(delivery_id=delivery.pk) == "retry"
    assert "did not resolve" in WebhookAttempt.objects.get(delivery=delivery).error


@pytest.mark.parametrize("port", [25, 22, 5432, 6379, 8080, 80])
def test_a_public_host_on_another_port_is_refused_at_registration_and_delivery(settings, port):
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    with pytest.raises(ValidationError) as refused:
        validate_endpoint_url(f"https://his.example.cn:{port}/hooks")
    assert refused.value.code == "port"
    with pytest.raises(egress.BlockedAddress, match=f"port {port}"):
        egress.resolve_public(f"https://93.184.216.34:{port}/hooks")


@pytest.mark.parametrize(
    "url", ["https://his.example.cn/hooks", "https://his.example.cn:443/h", "https://his.example.cn:8443/h"]
)
def test_the_standard_https_ports_are_accepted(settings, url):
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = False
    settings.DEBUG = False
    validate_endpoint_url(url)
