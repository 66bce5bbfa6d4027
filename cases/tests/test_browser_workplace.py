"""A coordinator's morning on the demo data, in a real browser (Debian's Chromium, 1280 px wide).

Each task starts from the case page and takes at most two page loads; the case page, the document
page and the referral page have no critical or serious WCAG 2.1 A/AA violation (axe-core), and the
case page never scrolls sideways. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from navigator.testing import axe_report, axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
WIDTH, HEIGHT = 1280, 800


class Loads:
    """Counts the page loads of the main frame (a POST answered by a redirect is one)."""

    def __init__(self, page):
        self.count = 0
        self.page = page
        page.on("load", self._loaded)

    def _loaded(self, _page):
        self.count += 1

    def take(self) -> int:
        # Let the navigation a click started finish, so its load event is counted here.
        self.page.wait_for_load_state("load")
        self.page.wait_for_timeout(200)
        count, self.count = self.count, 0
        return count


@pytest.fixture
def morning(live_site, chromium, screenshots_dir):
    """The demo stories, the coordinator signed in, and two of her cases: one with an upload waiting
    for review, one referred to a centre (with a family thread and a pre-screen)."""
    from django.test import Client

    from cases.demo import seed_stories
    from cases.models import Case

    seed_stories()
    waiting = Case.objects.filter(documents__review_status__in=["received", "in_review"]).order_by("id").first()
    referred = (
        Case.objects.filter(
            referrals__isnull=False, threads__kind="family", eligibility_assessments__centre__isnull=True
        )
        .distinct()
        .order_by("id")
        .first()
    )
    assert waiting is not None and referred is not None, "the demo stories lack a waiting upload or a referred case"
    client = Client()
    client.force_login(referred.coordinator or waiting.coordinator)
    context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_site,
            }
        ]  # fmt: skip
    )
    page = context.new_page()
    yield live_site, (waiting, referred), page, screenshots_dir
    context.close()


def _case_page(page, base, case):
    page.goto(f"{base}/admin/cases/case/{case.pk}/change/")


def _no_sideways_scroll(page):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= WIDTH, f"the page is {width}px wide at {WIDTH}px"


def _accessible(page, what):
    violations = axe_violations(page)
    assert not violations, f"{what}:\n{axe_report(violations)}"


def test_a_coordinators_morning_from_the_case_page(morning):
    from cases import workflow

    base, (waiting, case), page, shots = morning
    loads = Loads(page)
    done = {}

    # Open the case: the first screen shows who, where the case stands and what is due.
    _case_page(page, base, waiting)
    done["open the case"] = loads.take()
    assert waiting.reference in page.locator(".workplace-header").inner_text()
    _no_sideways_scroll(page)
    page.screenshot(path=str(shots / "workplace-1-case-page.png"))
    _accessible(page, "case page")
    # A section opens in place: its body is fetched, no page load.
    page.locator("#tab-records > summary").click()
    page.wait_for_selector("#tab-records[data-loaded] .records-waiting")
    assert loads.take() == 0
    page.screenshot(path=str(shots / "workplace-2-records-tab.png"), full_page=True)
    _accessible(page, "case page, records tab open")
    # Its inlines work as in a page of their own (Django's inline script prepared them).
    page.locator("#tab-overview > summary").click()
    page.wait_for_selector("#tab-overview[data-loaded]")
    rows = page.locator("#contacts-group tbody tr.form-row:not(.empty-form)").count()
    page.locator("#contacts-group .add-row a").click()
    assert page.locator("#contacts-group tbody tr.form-row:not(.empty-form)").count() == rows + 1
    _accessible(page, "case page, overview open")

    # Review and accept an upload: the waiting file's document page, then Accept.
    page.locator(".records-waiting a").first.click()
    page.wait_for_selector(".document-review")
    _no_sideways_scroll(page)
    page.screenshot(path=str(shots / "workplace-3-document-page.png"))
    _accessible(page, "document page")
    page.get_by_role("button", name="Accept").click()
    page.wait_for_selector(".messagelist")
    done["review and accept an upload"] = loads.take()
    assert "Accepted" in page.locator(".messagelist").inner_text()

    # Publish the family summary: the base assessment, then Publish.
    _case_page(page, base, case)
    loads.take()
    page.locator("#tab-eligibility > summary").click()
    page.get_by_role("link", name=re.compile("publish or withdraw the family summary")).click()
    page.get_by_role("button", name="Publish the summary").click()
    done["publish the summary"] = loads.take()
    assert "is published on the family's portal" in page.locator(".messagelist").inner_text()

    # Build and send a packet: the builder, then Send (anything still missing is named first).
    _case_page(page, base, case)
    loads.take()
    page.locator("#tab-referrals > summary").click()
    page.get_by_role("link", name="Packet builder").first.click()
    page.screenshot(path=str(shots / "workplace-4-packet-builder.png"), full_page=True)
    if page.locator("input[name=allow_missing]").count():
        page.locator("input[name=allow_missing]").check()
    if page.locator("input[name=reason]").count():
        page.locator("input[name=reason]").fill("Updated records")
    page.get_by_role("button", name=re.compile("^Send to")).click()
    done["build and send a packet"] = loads.take()
    assert re.search(r"Packet version \d+ sent|Nothing changed", page.content())
    _accessible(page, "referral page")
    page.screenshot(path=str(shots / "workplace-5-referral-page.png"))

    # Record an MRD result: the form with the case filled in, then Save.
    _case_page(page, base, case)
    loads.take()
    page.locator("#tab-schedule > summary").click()
    page.get_by_role("link", name="Record an MRD result").click()
    page.select_option("select[name=checkpoint]", "day28")
    page.fill("input[name=sample_date]", "2026-11-20")
    page.select_option("select[name=method]", "flow")
    page.select_option("select[name=result]", "negative")
    page.select_option("select[name=complete_remission]", "True")
    page.get_by_role("button", name=re.compile("^Save$")).click()
    done["record an MRD result"] = loads.take()
    assert "was added successfully" in page.locator(".messagelist").inner_text()

    # Answer the family: the family thread, then the reply. (The address names the section: it opens.)
    page.goto(f"{base}/admin/cases/case/{case.pk}/change/#tab-messages")
    loads.take()
    page.wait_for_selector("#tab-messages[open][data-loaded]")
    page.locator("#tab-messages a[href*='/admin/messaging/thread/']").first.click()
    page.locator("textarea[name=reply]").fill("Thank you, we received the report and will call you tomorrow.")
    page.get_by_role("button", name=re.compile("^(Send reply|Send|Save)$")).first.click()
    done["answer the family"] = loads.take()
    from messaging.models import Message

    assert Message.objects.filter(thread__case=case, body__startswith="Thank you, we received").exists()

    # Change status: the header's control offers only the allowed moves.
    _case_page(page, base, case)
    loads.take()
    case.refresh_from_db()
    offered = page.locator("#workplace-to-status option").evaluate_all("(os) => os.map(o => o.value)")
    assert set(offered) == workflow.TRANSITIONS[case.status]
    target = offered[0]
    page.select_option("#workplace-to-status", target)
    page.fill("#workplace-reason", "Moving on after the morning review")
    page.get_by_role("button", name="Change status").click()
    done["change status"] = loads.take()
    case.refresh_from_db()
    assert case.status == target
    page.screenshot(path=str(shots / "workplace-6-after-the-morning.png"))

    print("page loads per task from the case page:", done)
    assert all(n <= 2 for n in done.values()), done
