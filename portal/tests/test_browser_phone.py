# ruff: noqa: F811 (the browser fixtures are imported from test_browser and used by name)
"""The fixes a parent on a 390x844 phone needed, in a real browser, in every portal language.
Screenshots go to artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from portal.tests.test_browser import CHROMIUM, PASSWORD, SHOTS, browser, page, sign_in, site  # noqa: F401

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="Debian's Chromium is not installed"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]
LANGUAGES = ["en", "zh-hans", "ar", "ru"]


def _language(page, code):
    page.select_option("#language-select", code)
    page.click("form.language button")
    page.wait_for_load_state()


def test_the_header_is_compact_and_no_page_scrolls_sideways_in_any_language(site, page):
    url, world = site
    sign_in(page, url, "chen")
    case_id = world.case_b.pk
    for code in LANGUAGES:
        _language(page, code)
        for name in ("", "records/", "send/", "messages/", "dates/", "eligibility/"):
            page.goto(f"{url}/portal/cases/{case_id}/{name}")
            header = page.locator("header.site-header").bounding_box()
            assert header["height"] <= 110, (code, name, header)
            nav = page.locator("nav.site-nav").bounding_box()
            assert nav["height"] <= 50, (code, name, nav)  # one row of links
            label = page.locator(".language label").bounding_box()
            assert label["height"] <= 26, (code, label)  # "语言" on one line
            wide = page.evaluate(
                """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 391
                    && !e.closest('.site-nav ul')).map(e => e.tagName + '.' + e.className + ':' + e.textContent.slice(0, 40))"""
            )
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, (code, name, wide[:5])
        page.goto(f"{url}/portal/cases/{case_id}/")
        page.screenshot(path=str(SHOTS / f"phone-header-{code}.png"))


def test_save_and_sign_in_lands_on_the_case_signed_in(site, page):
    url, world = site
    from cases.factories import ContactFactory
    from portal import services

    contact = ContactFactory(patient=world.patient_a, name="Pavel Ivanov", email="pavel@example.org", language="ru")
    _invitation, raw = services.invitation_create(contact=contact, actor=world.alice)
    page.goto(f"{url}/portal/invitation/{raw}/")
    page.fill("#id_username", "pavel")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.screenshot(path=str(SHOTS / "invitation-ru.png"), full_page=True)
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{url}/portal/cases/{world.case_a.pk}/")
    assert page.locator("form[action$='/portal/logout/']").count() == 1
    page.screenshot(path=str(SHOTS / "invitation-signed-in-ru.png"), full_page=True)


def test_an_empty_message_moves_focus_to_the_field_and_its_error(site, page):
    url, world = site
    sign_in(page, url, "chen")
    for code in LANGUAGES:
        _language(page, code)
        page.goto(f"{url}/portal/cases/{world.case_b.pk}/messages/")
        page.click("main form button[type=submit]")
        page.wait_for_selector("#id_body_error")
        assert page.evaluate("document.activeElement.id") == "id_body"
        assert page.get_attribute("#id_body", "aria-describedby") == "id_body_error"
        assert page.get_attribute("#id_body", "aria-invalid") == "true"
        page.screenshot(path=str(SHOTS / f"message-error-{code}.png"), full_page=True)


def test_an_arabic_flight_reads_moscow_then_beijing_right_to_left(site, page):
    url, world = site
    from travel.tests.helpers import journey, leg, traveller

    traveller(world.case_b, world.alice)
    day = timezone.localdate() + dt.timedelta(days=30)
    leg(
        journey(world.case_b, world.alice),
        world.alice,
        "SVO",
        "PEK",
        dt.datetime.combine(day, dt.time(19, 15)),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(7, 45)),
        flight_number="SU204",
    )
    sign_in(page, url, "chen")
    for code, moscow, beijing in [
        ("ar", "موسكو", "بكين"),
        ("zh-hans", "莫斯科", "北京"),
        ("ru", "Москва", "Пекин"),
        ("en", "Moscow", "Beijing"),
    ]:
        _language(page, code)
        page.goto(f"{url}/portal/cases/{world.case_b.pk}/dates/")
        title = page.locator(".travel-title").first
        boxes = page.evaluate(
            """([el, a, b]) => {
                const text = el.firstChild; const s = text.textContent;
                const box = (word) => { const r = document.createRange(); const i = s.indexOf(word);
                    r.setStart(text, i); r.setEnd(text, i + word.length); return r.getBoundingClientRect().x; };
                return [box(a), box(b)];
            }""",
            [title.element_handle(), moscow, beijing],
        )
        if code == "ar":
            assert boxes[0] > boxes[1], "Moscow must sit to the right of Beijing in Arabic"
        else:
            assert boxes[0] < boxes[1]
        assert "07:45" in page.locator(".travel-detail").first.inner_text()
        page.screenshot(path=str(SHOTS / f"travel-{code}.png"), full_page=True)


def test_uploads_say_what_happens_in_every_language(site, page, tmp_path):
    """A file type that cannot be used is refused before anything is sent; a lost connection reads
    "1 second" in the page's language; progress shows the MB sent; a refused or failed file shows a
    failed mark and words, never a full bar."""
    from django.utils import translation

    from portal.tests.test_browser import a_pdf

    url, world = site
    sign_in(page, url, "chen")
    text_file = tmp_path / "notes.txt"
    text_file.write_bytes(b"not a medical record " * 1000)
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(b"%PDF-1.4\n" + b"broken" * 5000)
    requests = []
    page.on("request", lambda r: requests.append(r.method) if "/api/v1/uploads" in r.url else None)
    for n, code in enumerate(LANGUAGES):
        _language(page, code)
        with translation.override(code):
            from django.utils.translation import ngettext

            retry = ngettext(
                "Connection lost. Trying again in %(count)s second…",
                "Connection lost. Trying again in %(count)s seconds…",
                1,
            ) % {"count": 1}
        page.goto(f"{url}/portal/cases/{world.case_b.pk}/send/?type=cd19_flow")
        page.evaluate(
            """() => { window.statuses = [];
                new MutationObserver(() => document.querySelectorAll('.upload-item .status')
                    .forEach(s => window.statuses.push(s.textContent)))
                    .observe(document.getElementById('upload-list'), {subtree: true, childList: true, characterData: true}); }"""
        )
        # 1. Refused by its name and first bytes: nothing is sent.
        requests.clear()
        page.set_input_files("#upload-files", str(text_file))
        item = page.locator(".upload-item[data-state=failed]").last
        item.wait_for()
        assert requests == []
        assert not item.locator("progress").is_visible()
        assert item.locator(".state-icon").inner_text() == "⚠"
        assert len(item.locator(".status").inner_text()) > 10

        # 2. A dropped connection, then the upload completes.
        failures = {"n": 0}

        def drop_first_patch(route):
            if route.request.method == "PATCH" and failures["n"] == 0:
                failures["n"] += 1
                return route.abort("connectionreset")
            return route.continue_()

        page.route("**/api/v1/uploads/**", drop_first_patch)
        page.set_input_files("#upload-files", str(a_pdf(tmp_path / f"cd19-{code}.pdf", pages=6, seed=10 + n)))
        page.locator(".upload-item[data-state=done]").last.wait_for()
        page.unroute("**/api/v1/uploads/**")
        statuses = page.evaluate("window.statuses")
        assert retry in statuses, (code, retry, statuses[:8])
        assert any("MB" in s or "МБ" in s or "ميغابايت" in s for s in statuses), statuses[:8]
        assert page.locator(".upload-item[data-state=done] .state-icon").last.inner_text() == "✓"

        # 3. Refused by the server when complete (a damaged PDF): a failed mark, no bar.
        page.set_input_files("#upload-files", str(damaged))
        failed = page.locator(".upload-item[data-state=failed]").nth(1)
        failed.wait_for()
        assert not failed.locator("progress").is_visible()
        assert failed.locator(".state-icon").inner_text() == "⚠"
        page.screenshot(path=str(SHOTS / f"upload-states-{code}.png"), full_page=True)


def test_the_app_shell_works_offline_and_sign_out_clears_the_device(site, page):
    url, world = site
    sign_in(page, url, "chen")
    page.goto(f"{url}/portal/cases/{world.case_b.pk}/")
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("async () => (await caches.keys()).length > 0")
    cached = page.evaluate(
        "async () => { const c = await caches.open((await caches.keys())[0]); return (await c.keys()).map(r => r.url); }"
    )
    assert any(u.endswith("/portal/offline/") for u in cached)
    assert not any("/cases/" in u or "/api/" in u for u in cached), cached
    # Reloaded once so the worker controls the page; then, offline, a page shows the offline text.
    page.reload()
    page.context.set_offline(True)
    page.goto(f"{url}/portal/cases/{world.case_b.pk}/records/")
    assert page.locator("#offline-title").count() == 1
    assert "Xiaoming" not in page.content()
    page.screenshot(path=str(SHOTS / "offline.png"), full_page=True)
    page.context.set_offline(False)

    # An upload in progress keeps its state in IndexedDB and local storage; sign-out clears it all.
    page.goto(f"{url}/portal/cases/{world.case_b.pk}/")
    page.evaluate(
        """() => new Promise(resolve => { const r = indexedDB.open('navigator-uploads', 1);
            r.onupgradeneeded = () => r.result.createObjectStore('uploads');
            r.onsuccess = () => { r.result.close(); localStorage.setItem('navigator-upload:x', 'y'); resolve(); }; })"""
    )
    assert page.evaluate("async () => (await indexedDB.databases()).length") == 1
    page.click("form[action$='/portal/logout/'] button")
    page.wait_for_url(f"{url}/portal/login/")
    assert page.evaluate("async () => (await caches.keys()).length") == 0
    assert page.evaluate("async () => (await indexedDB.databases()).length") == 0
    assert page.evaluate("() => localStorage.length") == 0


def test_an_upload_survives_going_offline_and_a_reload_and_completes_with_the_right_bytes(site, page, tmp_path):
    import hashlib

    from documents.models import Document, Upload
    from portal.tests.test_browser import CHUNK, a_pdf

    url, world = site
    sign_in(page, url, "chen")
    pdf = a_pdf(tmp_path / "marrow.pdf", pages=14, seed=7)
    size = pdf.stat().st_size
    assert size > 6 * CHUNK
    patches = {"n": 0}

    def stop_after_two(route):
        if route.request.method == "PATCH":
            patches["n"] += 1
            if patches["n"] > 2:
                return route.abort("internetdisconnected")
        return route.continue_()

    send = f"{url}/portal/cases/{world.case_b.pk}/send/?type=bone_marrow"
    page.goto(send)
    page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
    page.route("**/api/v1/uploads/**", stop_after_two)
    page.set_input_files("#upload-files", str(pdf))
    page.wait_for_function(f"() => document.querySelector('.upload-item').dataset.offset === '{2 * CHUNK}'")
    page.context.set_offline(True)
    page.unroute("**/api/v1/uploads/**")
    # Offline, the page reloads from the service worker (the offline page); the file is not lost.
    page.reload()
    assert page.locator("#offline-title").count() == 1
    assert Upload.objects.get(case=world.case_b).offset == 2 * CHUNK

    seen = []
    page.on(
        "request", lambda r: seen.append((r.method, r.headers.get("upload-offset"))) if "/uploads/" in r.url else None
    )
    page.context.set_offline(False)
    page.goto(send)  # the file is not chosen again: it continues from IndexedDB
    page.locator(".upload-item[data-state=done]").wait_for(timeout=60_000)
    page.screenshot(path=str(SHOTS / "upload-after-offline-reload.png"), full_page=True)
    methods = [m for m, _ in seen]
    assert "POST" not in methods and methods[0] == "HEAD"
    assert next(offset for m, offset in seen if m == "PATCH") == str(2 * CHUNK)
    document = Document.objects.get(case=world.case_b)
    assert document.size == size
    assert document.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    # Nothing of the file stays on the device once it is received.
    assert (
        page.evaluate(
            """() => new Promise(resolve => { const r = indexedDB.open('navigator-uploads', 1);
            r.onsuccess = () => { const q = r.result.transaction('uploads').objectStore('uploads').count();
                q.onsuccess = () => { r.result.close(); resolve(q.result); }; }; })"""
        )
        == 0
    )


def test_axe_finds_no_violation_on_any_portal_page_in_any_language(site, page):
    from navigator.testing import axe_report, axe_violations

    every_impact = ("minor", "moderate", "serious", "critical")
    url, world = site
    sign_in(page, url, "chen")
    case_id = world.case_b.pk
    pages = ["", "records/", "send/", "messages/", "dates/", "eligibility/"]
    found = {}
    for code in LANGUAGES:
        _language(page, code)
        for name in pages:
            page.goto(f"{url}/portal/cases/{case_id}/{name}")
            found[(code, name)] = axe_violations(page, impacts=every_impact)
        for path in ("/portal/account/", "/portal/account/notifications/", "/portal/offline/"):
            page.goto(url + path)
            found[(code, path)] = axe_violations(page, impacts=every_impact)
    page.click("form[action$='/portal/logout/'] button")
    page.wait_for_url(f"{url}/portal/login/")
    for code in LANGUAGES:
        _language(page, code)
        for path in ("/portal/login/", "/portal/password/reset/"):
            page.goto(url + path)
            found[(code, path)] = axe_violations(page, impacts=every_impact)
    bad = {key: axe_report(v) for key, v in found.items() if v}
    assert not bad, "\n".join(f"{key}: {report}" for key, report in bad.items())
