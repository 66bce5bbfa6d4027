"""The home haematologist's page in a real browser (Debian's Chromium, headless): open the link in
their language (Chinese), read the handback, post a result; switch to Arabic (right to left) and
to English; a revoked link shows why it stopped working."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from django.utils import timezone

from portal.tests.test_browser import CHROMIUM, SHOTS, browser, page  # noqa: F401,F811 - shared fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def site(transactional_db, settings):
    from pytest_django.live_server_helper import LiveServer

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    from cases.models import Indication
    from navigator.testing import make_world

    Indication.objects.get_or_create(code="b-all-cd19-car-t", defaults={"name": "B-ALL CD19 CAR-T"})
    world = make_world()
    SHOTS.mkdir(parents=True, exist_ok=True)
    server = LiveServer("localhost")
    yield server.url, world
    server.stop()


def test_the_home_haematologist_reads_the_handback_and_posts_a_result(site, page):  # noqa: F811
    from followup.models import FollowUpResult, LinkUse
    from followup.services import handback_create, link_issue, link_revoke

    from .conftest import discharge, make_treated

    url, world = site
    case = make_treated(world)
    handback_create(case=case, actor=world.alice, discharge=discharge())
    link, token = link_issue(haematologist=case.home_haematologist_contact, actor=world.alice)

    page.goto(f"{url}/home/{token}/")
    # Dr Tan reads Chinese: the page opens in it.
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("h1").inner_text() == f"{case.reference} 的交接资料"
    assert "CD19 CAR-T (synthetic)" in page.content()  # what the centre wrote stays as written
    assert page.locator("#schedule tbody tr").count() >= 8
    assert "血常规" in page.locator("#schedule").inner_text()
    page.screenshot(path=str(SHOTS / "home-haematologist-handback-zh.png"), full_page=True)

    page.select_option("#id_kind", "igg")
    page.fill("#id_date", (timezone.localdate() - dt.timedelta(days=1)).isoformat())
    page.fill("#id_value", "3.4")
    page.fill("#id_unit", "g/L")
    page.locator("#id_unit").press("Enter")  # submits the form, as on a phone keyboard
    page.wait_for_url(f"{url}/home/{token}/?posted=1")
    assert "谢谢：结果已记录" in page.content()
    assert str(FollowUpResult.objects.get(case=case).value) == "3.400"

    # The language switch: Arabic, laid out right to left.
    page.get_by_role("link", name="العربية").click()
    page.wait_for_url(f"{url}/home/{token}/?lang=ar")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    assert page.locator("h1").inner_text() == f"ملف تسليم {case.reference}"
    assert page.locator("label[for=id_date]").inner_text() == "تاريخ العينة أو الحدث"
    page.screenshot(path=str(SHOTS / "home-haematologist-handback-ar.png"), full_page=True)

    page.get_by_role("link", name="English").click()
    page.wait_for_url(f"{url}/home/{token}/?lang=en")
    assert page.locator("h1").inner_text() == f"Handback of {case.reference}"
    assert page.locator("html").get_attribute("dir") == "ltr"

    link_revoke(link=link, actor=world.alice)
    page.goto(f"{url}/home/{token}/")
    assert page.locator("h1").inner_text() == "This link no longer works"
    page.screenshot(path=str(SHOTS / "home-haematologist-revoked.png"), full_page=True)
    assert LinkUse.objects.filter(link=link, outcome="revoked").exists()
