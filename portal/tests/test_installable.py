"""The portal installs as an app: a manifest in the reader's language, a service worker scoped to
the portal that keeps only the app shell, an offline page, and nothing left behind at sign-out."""

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "language, name",
    [
        ("en", "Navigator family portal"),
        ("zh-hans", "Navigator"),
        ("ar", "Navigator"),
        ("ru", "Семейный портал Navigator"),
    ],
)
def test_the_manifest_names_the_app_in_the_readers_language(client, language, name):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse("portal:manifest"))
    assert response.status_code == 200 and response["Content-Type"].startswith("application/manifest+json")
    data = response.json()
    assert name in data["name"] and data["lang"] == language
    assert data["display"] == "standalone" and data["start_url"] == "/portal/" and data["scope"] == "/portal/"
    assert {icon["sizes"] for icon in data["icons"]} == {"192x192", "512x512"}
    assert data["dir"] == ("rtl" if language == "ar" else "ltr")


def test_the_service_worker_is_served_for_the_portal_scope_and_caches_only_the_shell(client):
    response = client.get(reverse("portal:service_worker"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    assert response["Service-Worker-Allowed"] == "/portal/"
    assert "Content-Security-Policy" in response
    body = response.content.decode()
    assert "/portal/offline/" in body and "/static/portal/portal.css" in body
    assert "/api/" not in body and "/cases/" not in body


def test_the_offline_page_holds_no_case_data(client):
    response = client.get(reverse("portal:offline"))
    assert response.status_code == 200
    assert b"Misha" not in response.content


def test_pages_link_the_manifest_and_the_worker(client, world):
    client.force_login(world.chen)
    html = client.get(reverse("portal:case", args=[world.case_b.pk])).content.decode()
    assert 'rel="manifest" href="/portal/manifest.webmanifest"' in html
    assert 'data-service-worker="/portal/sw.js"' in html


def test_sign_out_clears_the_devices_caches_and_storage(client, world):
    client.force_login(world.chen)
    response = client.post(reverse("portal:logout"))
    assert response["Clear-Site-Data"] == '"cache", "storage"'
