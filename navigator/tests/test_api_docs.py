"""The API documentation pages work offline under the site's Content Security Policy: Swagger UI
and ReDoc from pinned local copies (drf-spectacular-sidecar), no CDN, no inline script."""

from __future__ import annotations

import os
import re

import pytest
from django.contrib.staticfiles import finders

CHROMIUM = "/usr/bin/chromium"


def _assets(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_pages_load_only_local_assets_under_the_csp(client, world, path):
    client.force_login(world.alice)
    page = client.get(path)
    assert page.status_code == 200
    html = page.content.decode()
    assets = _assets(html)
    assert assets and all(a.startswith("/") for a in assets), assets
    for asset in assets:
        if asset.startswith("/static/"):
            assert finders.find(asset.removeprefix("/static/")), asset
    assert "<script>" not in html and "<style>" not in html
    policy = page["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", policy).group(1)
    assert script_src.strip() == "'self'"


@pytest.mark.django_db
def test_swagger_uis_starter_is_a_script_file(client, world):
    client.force_login(world.alice)
    html = client.get("/api/docs/").content.decode()
    [starter] = [a for a in _assets(html) if "script" in a and not a.startswith("/static/")]
    script = client.get(starter)
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_sidecar_version_is_pinned():
    from pathlib import Path

    from django.conf import settings

    requirements = (Path(settings.BASE_DIR) / "requirements.txt").read_text()
    assert re.search(r"^drf-spectacular-sidecar==\d", requirements, re.M)


@pytest.mark.browser
@pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's Chromium (/usr/bin/chromium) is not installed")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_swagger_ui_renders_the_operations_offline_without_csp_violations(settings, live_site):
    from django.test import Client
    from playwright.sync_api import sync_playwright

    from navigator.testing import make_world

    world = make_world()
    client = Client()
    client.force_login(world.alice)
    session = client.cookies["sessionid"].value
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    problems, outside = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless=new", "--no-sandbox"])
            context = browser.new_context()
            host = live_site.split("//")[1].split(":")[0]
            context.add_cookies([{"name": "sessionid", "value": session, "domain": host, "path": "/"}])

            def offline(route):
                if route.request.url.startswith(live_site):
                    route.continue_()
                else:  # nothing outside the site: as on a machine without internet
                    outside.append(route.request.url)
                    route.abort()

            context.route("**/*", offline)
            page = context.new_page()
            page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{live_site}/api/docs/")
            # The operations of the first groups are drawn from the locally served assets and schema.
            page.wait_for_selector(".opblock", timeout=60_000)
            assert page.locator(".opblock").count() >= 5
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous
    assert not outside, outside
    assert not [p for p in problems if "script" in p.lower()], problems
