"""The coordinator's desk in a real browser (Debian's Chromium, 1440x900) on the demo data.

A coordinator's morning starts on Today: the overdue item is found there and the page where it
is acted on is one click away. The same errand through the generic admin is walked too, and
both counts of page loads are printed (``-s``) for the record. axe-core checks Today, the case
list and the supervisors' view. Screenshots go to artifacts/screenshots/.
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


class Loads:
    """Counts the page loads of the main frame (navigations, form posts, redirects' targets)."""

    def __init__(self, page):
        self.count = 0
        page.on("load", self._loaded)

    def _loaded(self, _page):
        self.count += 1


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


def sign_in(page, url, username, password):
    page.goto(f"{url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click("input[type=submit]")


def test_a_coordinator_reaches_todays_overdue_item_in_two_page_loads(demo, page, screenshots_dir):
    url, password = demo
    loads = Loads(page)
    sign_in(page, url, "alice", password)
    before_signing_in = loads.count
    # Load 1: signing in lands on Today.
    assert page.url == f"{url}/admin/"
    overdue = page.locator("#group-overdue")
    assert int(overdue.get_attribute("data-count")) > 0
    first = overdue.locator("a.nav-act").first
    target = first.get_attribute("href")
    page.screenshot(path=str(screenshots_dir / "desk-today.png"), full_page=True)
    violations = axe_violations(page)
    assert not violations, axe_report(violations)
    # Load 2: the page where it is acted on.
    with page.expect_navigation():
        first.click()
    assert page.url == f"{url}{target}"
    assert page.locator("#content").is_visible()
    page.screenshot(path=str(screenshots_dir / "desk-overdue-item.png"), full_page=True)
    after = loads.count - before_signing_in + 1  # the sign-in's landing is the first load
    assert after <= 2, after

    # The same errand through the generic admin: its landing (the app index), the milestones,
    # the overdue filter, the milestone (read-only), its case, and the row it comes from.
    generic = Loads(page)
    page.goto(f"{url}/admin/scheduling/")
    for selector in (
        "#content-main a[href='/admin/scheduling/milestone/']",
        "#changelist-filter a[href*='due=overdue']",
        "#result_list tbody tr th a",
        "#content-main a[href^='/admin/cases/case/']",
    ):
        with page.expect_navigation():
            page.locator(selector).first.click()
    if page.url != f"{url}{target}":
        with page.expect_navigation():
            page.goto(f"{url}{target}")
    print(f"\npage loads to today's overdue item: generic admin {generic.count}, Today {after}")
    assert generic.count > after


def test_the_case_list_and_supervisors_view_have_no_serious_accessibility_violations(demo, page, screenshots_dir):
    url, password = demo
    sign_in(page, url, "sam", password)
    for name, path in (
        ("desk-team", "/admin/?scope=team"),
        ("admin-case-list", "/admin/cases/case/"),
        ("desk-supervisors", "/admin/supervisors/"),
        ("admin-reminders", "/admin/scheduling/reminder/?caseload=all"),
    ):
        page.goto(f"{url}{path}")
        page.screenshot(path=str(screenshots_dir / f"{name}.png"), full_page=True)
        violations = axe_violations(page)
        assert not violations, f"{path}\n{axe_report(violations)}"
