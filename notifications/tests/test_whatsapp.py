"""The WhatsApp Cloud API backend against a local fake of the API (a real HTTP server in a thread)."""

from __future__ import annotations

import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from notifications import delivery
from notifications.models import NoticeDelivery
from notifications.services import message_send, notice_preference_update
from notifications.sms import PermanentSendError, SMSError, get_whatsapp_backend
from notifications.whatsapp import WhatsAppCloudBackend, template_language

from .test_notices import MORNING, clock, coordinator_writes


class FakeCloudAPI:
    """Answers POST /<version>/<phone-number-id>/messages like the Cloud API; ``answers`` is a list
    of (status, body) used in order (the last one repeats); every request is kept."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, object]] = [(200, None)]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "json": body})
                status, answer = fake.answers[min(len(fake.requests) - 1, len(fake.answers) - 1)]
                if answer is None:
                    answer = {
                        "messaging_product": "whatsapp",
                        "contacts": [{"input": body.get("to"), "wa_id": body.get("to")}],
                        "messages": [{"id": f"wamid.TEST{len(fake.requests)}"}],
                    }
                raw = answer if isinstance(answer, bytes) else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def error(code: int, message: str = "error", subcode: int | None = None) -> dict:
    body = {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Atest"}
    if subcode is not None:
        body["error_subcode"] = subcode
    return {"error": body}


@pytest.fixture
def api(settings):
    with FakeCloudAPI() as fake:
        settings.WHATSAPP_BACKEND = "notifications.whatsapp.WhatsAppCloudBackend"
        settings.WHATSAPP_API_URL = fake.url
        settings.WHATSAPP_API_VERSION = "v21.0"
        settings.WHATSAPP_PHONE_NUMBER_ID = "106540352242922"
        settings.WHATSAPP_ACCESS_TOKEN = "EAAtest-token"
        settings.WHATSAPP_TEMPLATE = "navigator_notice"
        yield fake


def send(text="Navigator: a new message from your coordinator. Details in the portal: https://x/portal/"):
    return message_send(
        channel="whatsapp", to="+65 9123 4567", subject="", body=text, idempotency_key="navigator-notice-7",
        language="zh-hans",
    )  # fmt: skip


def test_a_message_is_a_template_message_posted_to_the_documented_endpoint(api):
    assert send("Navigator: news.\nDetails   in the portal") == "whatsapp:wamid.TEST1"
    (request,) = api.requests
    assert request["path"] == "/v21.0/106540352242922/messages"
    assert request["headers"]["Authorization"] == "Bearer EAAtest-token"
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["json"] == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "6591234567",
        "type": "template",
        "biz_opaque_callback_data": "navigator-notice-7",
        "template": {
            "name": "navigator_notice",
            "language": {"code": "zh_CN"},
            # A template variable may hold no new line and no run of spaces.
            "components": [
                {"type": "body", "parameters": [{"type": "text", "text": "Navigator: news. Details in the portal"}]}
            ],
        },
    }


def test_languages_map_to_whatsapp_template_languages():
    assert [template_language(code) for code in ("en", "zh-hans", "ar", "ru", "", "xx")] == [
        "en", "zh_CN", "ar", "ru", "en", "en",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, error(1, "An unknown error occurred")),
        (503, error(2, "Service temporarily unavailable")),
        (502, b"<html>Bad gateway</html>"),
        (429, error(130429, "Rate limit hit")),
        (400, error(131048, "Spam rate limit hit")),
        (400, error(131056, "Pair rate limit hit")),
        (400, error(4, "Application request limit reached")),
        (400, error(133004, "Server temporarily unavailable")),
    ],
    ids=["500", "503", "502-html", "429", "131048-spam", "131056-pair", "4-too-many-calls", "133004"],
)
def test_temporary_failures_are_retried(api, status, body):
    api.answers = [(status, body)]
    with pytest.raises(SMSError) as raised:
        send()
    assert not isinstance(raised.value, PermanentSendError)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, error(190, "Error validating access token: Session has expired")),
        (400, error(100, "Invalid parameter")),
        (400, error(131026, "Message undeliverable")),
        (400, error(132001, "Template name does not exist in the translation")),
        (400, error(131047, "Re-engagement message")),
        (403, error(10, "Permission denied")),
        (404, b"not json"),
    ],
    ids=["190-token", "100-parameter", "131026-undeliverable", "132001-template", "131047-window", "10-perm", "404"],
)
def test_refusals_are_permanent(api, status, body):
    api.answers = [(status, body)]
    with pytest.raises(PermanentSendError):
        send()


def test_an_unreachable_api_is_a_temporary_failure(settings):
    with FakeCloudAPI() as fake:
        url = fake.url
    settings.WHATSAPP_BACKEND = "notifications.whatsapp.WhatsAppCloudBackend"
    settings.WHATSAPP_API_URL = url  # nothing listens there any more
    settings.WHATSAPP_PHONE_NUMBER_ID = "1"
    settings.WHATSAPP_ACCESS_TOKEN = "t"
    with pytest.raises(SMSError) as raised:
        send()
    assert not isinstance(raised.value, PermanentSendError)


def test_a_200_without_a_message_id_is_not_taken_for_a_delivery(api):
    api.answers = [(200, {"messaging_product": "whatsapp"})]
    with pytest.raises(SMSError):
        send()


def test_an_unconfigured_backend_fails_permanently(settings):
    settings.WHATSAPP_BACKEND = "notifications.whatsapp.WhatsAppCloudBackend"
    settings.WHATSAPP_PHONE_NUMBER_ID = ""
    settings.WHATSAPP_ACCESS_TOKEN = ""
    with pytest.raises(PermanentSendError, match="WHATSAPP_ACCESS_TOKEN"):
        get_whatsapp_backend()


def test_the_backend_is_chosen_by_settings_and_declares_at_least_once(api):
    backend = get_whatsapp_backend()
    assert isinstance(backend, WhatsAppCloudBackend) and backend.honours_idempotency_key is False


# --- through the notice machinery ----------------------------------------------------------------


@pytest.fixture
def whatsapp_family(world, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    notice_preference_update(contact=world.contact_b, actor=world.chen, by_email=False, by_sms=False, by_whatsapp=True)
    with clock(MORNING):
        coordinator_writes(world)
        delivery.notices_sweep(now=MORNING + dt.timedelta(minutes=5))
    return NoticeDelivery.objects.get(channel="whatsapp")


@pytest.mark.django_db
def test_a_notice_goes_out_by_whatsapp_in_the_contacts_language(api, whatsapp_family):
    with clock(MORNING + dt.timedelta(minutes=5)):
        assert delivery.notice_deliver(delivery_id=whatsapp_family.pk) == "sent"
        assert delivery.notice_deliver(delivery_id=whatsapp_family.pk) == "not_claimed"
    whatsapp_family.refresh_from_db()
    assert (whatsapp_family.provider_ref, whatsapp_family.delivery) == ("whatsapp:wamid.TEST1", "at_least_once")
    (request,) = api.requests
    text = request["json"]["template"]["components"][0]["parameters"][0]["text"]
    assert text.startswith("Navigator：协调员给您发了新消息") and "MRD" not in text
    assert request["json"]["template"]["language"] == {"code": "zh_CN"}
    assert request["json"]["biz_opaque_callback_data"] == f"navigator-notice-{whatsapp_family.pk}"


@pytest.mark.django_db
def test_a_5xx_is_retried_and_a_refusal_fails_the_delivery_at_once(api, whatsapp_family):
    api.answers = [(500, error(1)), (400, error(131026, "Message undeliverable"))]
    with clock(MORNING + dt.timedelta(minutes=5)):
        assert delivery.notice_deliver(delivery_id=whatsapp_family.pk) == "retry"
        whatsapp_family.refresh_from_db()
        assert whatsapp_family.status == "queued" and "WhatsApp 500" in whatsapp_family.last_error
        assert delivery.notice_deliver(delivery_id=whatsapp_family.pk) == "failed"
    whatsapp_family.refresh_from_db()
    assert whatsapp_family.status == "failed" and "131026" in whatsapp_family.last_error
    assert whatsapp_family.attempts == 2
