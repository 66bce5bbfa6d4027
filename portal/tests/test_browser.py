"""The portal in a real browser (Debian's Chromium, headless) against a live server.

Each test writes phone-sized screenshots (390x844) of the pages it visits to
artifacts/screenshots/, for people to look at.
"""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from django.conf import settings as django_settings

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(django_settings.BASE_DIR) / "artifacts" / "screenshots"
PASSWORD = "correct-horse-battery-staple"
CHUNK = 16 * 1024

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's Chromium (/usr/bin/chromium) is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the database calls the tests
    # make between browser steps are ordinary synchronous ones.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def site(transactional_db, settings, tmp_path):
    # A server of our own, started after the settings below (and the project's plain-HTTP
    # test settings) apply: a server's middleware reads its settings once, when it starts.
    from pytest_django.live_server_helper import LiveServer

    settings.SECURE_SSL_REDIRECT = False
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    settings.DOCUMENT_UPLOAD_DIR = str(tmp_path / "uploads")
    settings.PORTAL_UPLOAD_CHUNK_BYTES = CHUNK
    from cases.models import Indication
    from navigator.testing import make_world

    # A transactional test starts from whatever an earlier one flushed: the reference row the
    # migrations create is made again if it is missing.
    Indication.objects.get_or_create(code="b-all-cd19-car-t", defaults={"name": "B-ALL CD19 CAR-T"})
    world = make_world()
    SHOTS.mkdir(parents=True, exist_ok=True)
    server = LiveServer("localhost")
    yield server.url, world
    server.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1, is_mobile=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()


def sign_in(page, url, username):
    page.goto(f"{url}/portal/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("form[action$='/portal/login/'] button[type=submit]")
    page.wait_for_url(f"{url}/portal/cases/*/")


def a_pdf(path: Path, *, pages: int = 1, seed: int = 1) -> Path:
    """A real PDF (the server sniffs and parses it); random text makes it hard to compress."""
    from reportlab.pdfgen import canvas

    rnd = random.Random(seed)
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pageCompression=0)
    for _ in range(pages):
        for line in range(60):
            pdf.drawString(
                20, 800 - line * 13, "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(90))
            )
        pdf.showPage()
    pdf.save()
    path.write_bytes(buffer.getvalue())
    return path


def test_a_family_signs_in_sends_a_record_and_sees_the_checklist_change(site, page, tmp_path):
    url, world = site
    sign_in(page, url, "chen")
    case_id = world.case_b.pk
    assert page.locator("html").get_attribute("lang") == "zh-hans"  # chen's profile language
    # The rest of this test reads the English pages.
    page.select_option("#language-select", "en")
    page.click("form.language button")
    page.wait_for_load_state()
    page.screenshot(path=str(SHOTS / "case-overview.png"), full_page=True)

    page.goto(f"{url}/portal/cases/{case_id}/send/?type=cd19_flow")
    row = page.locator("#checklist [data-key=cd19]")
    assert row.get_attribute("data-state") == "missing"
    page.set_input_files("#upload-files", str(a_pdf(tmp_path / "cd19-report.pdf")))
    page.wait_for_selector(".upload-item[data-state=done]")
    page.wait_for_selector("#checklist [data-key=cd19][data-state=in_review]")
    page.screenshot(path=str(SHOTS / "upload.png"), full_page=True)

    from documents.models import Document

    document = Document.objects.get(case=world.case_b)
    assert (document.doc_type, document.review_status, document.uploaded_by_id) == (
        "cd19_flow",
        "received",
        world.chen.pk,
    )

    for name, path in [
        ("records", f"/portal/cases/{case_id}/records/"),
        ("messages", f"/portal/cases/{case_id}/messages/"),
        ("dates", f"/portal/cases/{case_id}/dates/"),
        ("eligibility", f"/portal/cases/{case_id}/eligibility/"),
        ("account", "/portal/account/"),
    ]:
        page.goto(url + path)
        assert page.locator("main h1").count() == 1
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    page.goto(f"{url}/portal/cases/{case_id}/messages/")
    page.fill("#id_body", "We have the bone marrow report from March, sending it tomorrow.")
    page.click("main form button[type=submit]")
    page.wait_for_selector(".message.mine")


def test_an_interrupted_upload_resumes_where_it_stopped_after_a_reload(site, page, tmp_path):
    url, world = site
    sign_in(page, url, "chen")
    case_id = world.case_b.pk
    pdf = a_pdf(tmp_path / "marrow.pdf", pages=14, seed=2)
    size = pdf.stat().st_size
    assert size > 6 * CHUNK

    patches = {"n": 0}

    def drop_after_two(route):
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] > 2:
                return route.abort("connectionreset")
        return route.continue_()

    page.goto(f"{url}/portal/cases/{case_id}/send/?type=bone_marrow")
    page.route("**/api/v1/uploads/**", drop_after_two)
    page.set_input_files("#upload-files", str(pdf))
    page.wait_for_function(f"() => document.querySelector('.upload-item').dataset.offset === '{2 * CHUNK}'")
    page.wait_for_selector(".upload-item[data-state=retrying]")
    page.unroute("**/api/v1/uploads/**")

    from documents.models import Upload

    upload = Upload.objects.get(case=world.case_b)
    assert upload.offset == 2 * CHUNK

    seen = []
    page.on(
        "request",
        lambda r: seen.append((r.method, r.headers.get("upload-offset"))) if "/api/v1/uploads/" in r.url else None,
    )
    page.reload()
    # The page picks the file up again by itself (kept in IndexedDB); choosing it again is harmless.
    page.set_input_files("#upload-files", str(pdf))
    page.wait_for_selector(".upload-item[data-state=done]")
    page.screenshot(path=str(SHOTS / "upload-resumed.png"), full_page=True)

    methods = [m for m, _ in seen]
    assert "POST" not in methods, "the upload was restarted instead of resumed"
    assert methods[0] == "HEAD"
    first_patch = next(offset for m, offset in seen if m == "PATCH")
    assert first_patch == str(2 * CHUNK)

    from documents.models import Document

    document = Document.objects.get(case=world.case_b)
    assert document.size == size
    assert not Upload.objects.filter(pk=upload.pk).exists()


def test_the_portal_switches_to_chinese_arabic_right_to_left_and_russian(site, page):
    url, world = site
    sign_in(page, url, "chen")
    for code, direction, text in [
        ("zh-hans", "ltr", "退出"),
        ("ar", "rtl", "تسجيل الخروج"),
        ("ru", "ltr", "Выйти"),
        ("en", "ltr", "Sign out"),
    ]:
        page.select_option("#language-select", code)
        page.click("form.language button")
        page.wait_for_load_state()
        html = page.locator("html")
        assert (html.get_attribute("lang"), html.get_attribute("dir")) == (code, direction)
        assert text in page.locator("nav").inner_text()
        page.screenshot(path=str(SHOTS / f"case-{code}.png"), full_page=True)
    world.chen.refresh_from_db()
    assert world.chen.preferred_language == "en"


def test_a_family_cannot_open_another_familys_case(site, page):
    url, world = site
    sign_in(page, url, "chen")
    response = page.goto(f"{url}/portal/cases/{world.case_a.pk}/")
    assert response.status == 404
    assert "Misha" not in page.content()
    response = page.goto(f"{url}/portal/cases/{world.case_a.pk}/records/")
    assert response.status == 404
