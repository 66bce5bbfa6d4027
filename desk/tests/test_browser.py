"""The coordinator's desk in a real browser (Debian's Chromium) on the demo data.

Desktop-sized screenshots (1440x900) of the pages visited go to artifacts/screenshots/.
"""

from __future__ import annotations

import pytest

from navigator.testing import axe_report, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture
def demo(live_site):
    from cases.demo import DEMO_PASSWORD, seed_stories

    seed_stories()
    return live_site, DEMO_PASSWORD


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def sign_in(page, url, username, password):
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()


def test_the_case_list_has_no_serious_accessibility_violations(demo, page, screenshots_dir):
    url, password = demo
    sign_in(page, url, "alice", password)
    page.goto(f"{url}/admin/cases/case/")
    page.screenshot(path=str(screenshots_dir / "admin-case-list.png"))
    violations = axe_violations(page)
    assert not violations, axe_report(violations)


def test_today_has_no_serious_accessibility_violations(demo, page, screenshots_dir):
    url, password = demo
    sign_in(page, url, "alice", password)
    page.screenshot(path=str(screenshots_dir / "admin-today.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
