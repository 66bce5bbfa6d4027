"""The client's address in the audit trail, the portal rate limit, the lock-out and API throttling
comes from REMOTE_ADDR and the trusted proxies' entries only: a forged X-Forwarded-For proves nothing."""

import pytest
from django.test import RequestFactory
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from audit.context import ip_from_request
from audit.models import AuditEvent

FORGED = "203.0.113.66"


def _request(remote, forwarded=None):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **meta)


def test_without_trusted_proxies_a_forged_header_is_ignored(settings):
    settings.NAVIGATOR_TRUSTED_PROXIES = 0
    assert ip_from_request(_request("198.51.100.7", FORGED)) == "198.51.100.7"


def test_behind_one_proxy_the_address_the_proxy_saw_wins_over_what_the_client_wrote(settings):
    settings.NAVIGATOR_TRUSTED_PROXIES = 1
    # The client sent "X-Forwarded-For: 203.0.113.66"; the proxy (10.0.0.2) appended the real address.
    assert ip_from_request(_request("10.0.0.2", f"{FORGED}, 198.51.100.7")) == "198.51.100.7"
    assert ip_from_request(_request("10.0.0.2", "198.51.100.7")) == "198.51.100.7"


def test_behind_two_proxies_the_client_is_the_second_entry_from_the_right(settings):
    settings.NAVIGATOR_TRUSTED_PROXIES = 2
    request = _request("10.0.0.3", f"{FORGED}, 1.2.3.4, 198.51.100.7, 10.0.0.2")
    assert ip_from_request(request) == "198.51.100.7"


def test_a_request_that_skipped_a_proxy_falls_back_to_the_connection_address(settings):
    settings.NAVIGATOR_TRUSTED_PROXIES = 2
    assert ip_from_request(_request("10.0.0.3", "198.51.100.7")) == "10.0.0.3"


def test_api_throttling_identifies_clients_by_the_same_count():
    """DRF's NUM_PROXIES follows NAVIGATOR_TRUSTED_PROXIES (0 by default), so a forged header
    does not give an anonymous client a fresh throttle bucket per request."""
    assert api_settings.NUM_PROXIES == 0
    view = APIView()
    first = AnonRateThrottle().get_ident(view.initialize_request(_request("198.51.100.7", "1.1.1.1")))
    second = AnonRateThrottle().get_ident(view.initialize_request(_request("198.51.100.7", "2.2.2.2")))
    assert first == second == "198.51.100.7"


@pytest.mark.django_db
def test_a_forged_header_does_not_forge_the_audit_address(client, world, settings):
    settings.NAVIGATOR_TRUSTED_PROXIES = 1
    client.force_login(world.alice)
    client.get(
        f"/api/v1/cases/{world.case_a.pk}/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{FORGED}, 198.51.100.7"
    )
    event = AuditEvent.objects.filter(object_type="cases.Case", action="view").latest("pk")
    assert event.client_ip == "198.51.100.7"


@pytest.mark.django_db
def test_a_forged_header_does_not_reset_the_portal_rate_limit(client, settings):
    settings.NAVIGATOR_TRUSTED_PROXIES = 1
    settings.PORTAL_LOGIN_RATE = (3, 600)
    statuses = []
    for n in range(5):
        response = client.post(
            "/portal/login/",
            {"username": "nobody", "password": "wrong"},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7",
        )
        statuses.append(response.status_code)
    assert statuses[-1] == 429, statuses
