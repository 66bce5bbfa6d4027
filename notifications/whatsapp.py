"""WhatsApp Business messages through Meta's Cloud API, behind the SMS backend interface.

``WHATSAPP_BACKEND=notifications.whatsapp.WhatsAppCloudBackend`` sends each message as a
*template* message (a business may write first only with a template approved in WhatsApp
Manager): ``POST {WHATSAPP_API_URL}/{WHATSAPP_API_VERSION}/{WHATSAPP_PHONE_NUMBER_ID}/messages``
with the bearer token ``WHATSAPP_ACCESS_TOKEN`` (from the environment, or ``_FILE``). The
template ``WHATSAPP_TEMPLATE`` has one body variable, ``{{1}}``, which receives the text (one
line, already in the recipient's language); it must be approved in each language we send.

Errors, as the Cloud API documents them: HTTP 5xx, HTTP 429, and the throttling and temporary
error codes below are worth retrying (``SMSError``); any other refusal (bad number, token
expired, template missing, parameter invalid, user outside the re-engagement window) cannot
succeed by retrying (``PermanentSendError``). The API ignores idempotency keys: a send retried
after a crash may arrive twice (``honours_idempotency_key = False``); the key goes along as
``biz_opaque_callback_data``, so status webhooks name the delivery.
"""

from __future__ import annotations

import logging

import requests
from django.conf import settings

from .sms import BaseSMSBackend, PermanentSendError, SMSError

log = logging.getLogger(__name__)

# Error codes to retry (graph API: 1 unknown, 2 service, 4 too many calls, 80007 rate limit;
# Cloud API: 130429 throughput, 131000 something went wrong, 131016 service unavailable,
# 131048 spam rate limit, 131056 pair rate limit, 133004 server temporarily unavailable).
RETRY_CODES = frozenset({1, 2, 4, 80007, 130429, 131000, 131016, 131048, 131056, 133004})

# Our language codes -> WhatsApp template language codes.
TEMPLATE_LANGUAGES = {"en": "en", "zh-hans": "zh_CN", "ar": "ar", "ru": "ru"}


def template_language(language: str) -> str:
    return TEMPLATE_LANGUAGES.get((language or "en").lower(), "en")


class WhatsAppCloudBackend(BaseSMSBackend):
    honours_idempotency_key = False

    def __init__(self):
        if not (settings.WHATSAPP_PHONE_NUMBER_ID and settings.WHATSAPP_ACCESS_TOKEN):
            raise PermanentSendError(
                "WhatsApp is not configured: set WHATSAPP_PHONE_NUMBER_ID and WHATSAPP_ACCESS_TOKEN."
            )
        base = settings.WHATSAPP_API_URL.rstrip("/")
        self.url = f"{base}/{settings.WHATSAPP_API_VERSION}/{settings.WHATSAPP_PHONE_NUMBER_ID}/messages"
        self.token = settings.WHATSAPP_ACCESS_TOKEN
        self.template = settings.WHATSAPP_TEMPLATE

    def payload(self, *, to: str, body: str, idempotency_key: str, language: str) -> dict:
        return {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "".join(c for c in to if c.isdigit()),
            "type": "template",
            "biz_opaque_callback_data": idempotency_key,
            "template": {
                "name": self.template,
                "language": {"code": template_language(language)},
                "components": [{"type": "body", "parameters": [{"type": "text", "text": " ".join(body.split())}]}],
            },
        }

    def send(self, *, to: str, body: str, idempotency_key: str, language: str = "") -> str:
        try:
            response = requests.post(
                self.url,
                json=self.payload(to=to, body=body, idempotency_key=idempotency_key, language=language),
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=settings.WHATSAPP_TIMEOUT_SECONDS,
            )
        except requests.RequestException as exc:
            raise SMSError(f"WhatsApp unreachable: {type(exc).__name__}") from exc
        try:
            data = response.json()
        except ValueError:
            data = {}
        if response.status_code == 200:
            messages = data.get("messages") if isinstance(data, dict) else None
            if not messages or not messages[0].get("id"):
                raise SMSError("WhatsApp answered 200 without a message id")
            return f"whatsapp:{messages[0]['id']}"
        error = data.get("error", {}) if isinstance(data, dict) else {}
        code = error.get("code") if isinstance(error, dict) else None
        detail = f"WhatsApp {response.status_code}, code {code}: {str(error.get('message', ''))[:200]}"
        if response.status_code >= 500 or response.status_code == 429 or code in RETRY_CODES:
            raise SMSError(detail)
        raise PermanentSendError(detail)
