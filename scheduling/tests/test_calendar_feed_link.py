"""Private calendar subscription links: work without a session, only for their case and user."""

from rest_framework.test import APIClient


def _link(world, user, case):
    client = APIClient()
    client.force_authenticate(user)
    response = client.get(f"/api/v1/cases/{case.pk}/calendar-link/")
    assert response.status_code == 200
    return response.json()["url"].replace("http://testserver", "")


def test_a_family_subscribes_to_its_case_calendar_without_signing_in(world):
    url = _link(world, world.ivanova, world.case_a)
    response = APIClient().get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    assert b"BEGIN:VCALENDAR" in response.content


def test_a_link_for_one_case_does_not_open_another(world):
    url = _link(world, world.alice, world.case_a)
    other = url.replace(f"/cases/{world.case_a.pk}/", f"/cases/{world.case_b.pk}/")
    assert APIClient().get(other).status_code == 401


def test_a_tampered_or_missing_token_is_refused(world):
    url = _link(world, world.ivanova, world.case_a)
    assert APIClient().get(url[:-3] + "abc").status_code == 401
    assert APIClient().get(url.split("?")[0]).status_code in (401, 403)


def test_changing_the_password_revokes_the_link(world):
    url = _link(world, world.ivanova, world.case_a)
    world.ivanova.set_password("a-brand-new-passphrase-2026")
    world.ivanova.save()
    assert APIClient().get(url).status_code == 401


def test_a_family_that_loses_access_gets_nothing(world):
    url = _link(world, world.ivanova, world.case_a)
    world.contact_a.user = None
    world.contact_a.save()
    assert APIClient().get(url).status_code == 404


def test_another_family_cannot_get_a_link(world):
    client = APIClient()
    client.force_authenticate(world.chen)
    assert client.get(f"/api/v1/cases/{world.case_a.pk}/calendar-link/").status_code == 404


def test_a_link_expires_after_the_configured_days(world, settings):
    import datetime as dt

    from django.utils import timezone

    from scheduling.models import CalendarLink

    settings.CALENDAR_LINK_DAYS = 30
    url = _link(world, world.ivanova, world.case_a)
    link = CalendarLink.objects.get(user=world.ivanova, case=world.case_a)
    assert abs((link.expires_at - link.created_at) - dt.timedelta(days=30)) < dt.timedelta(seconds=1)
    assert APIClient().get(url).status_code == 200
    CalendarLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    refused = APIClient().get(url)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]
    # Asking again gives a new, working link.
    fresh = _link(world, world.ivanova, world.case_a)
    assert fresh != url and APIClient().get(fresh).status_code == 200


def test_asking_twice_gives_the_same_usable_link(world):
    from scheduling.models import CalendarLink

    _link(world, world.ivanova, world.case_a)
    _link(world, world.ivanova, world.case_a)
    assert CalendarLink.objects.filter(user=world.ivanova, case=world.case_a).count() == 1


def test_a_family_revokes_one_link_from_the_portal_and_the_other_keeps_working(client, world):
    from scheduling.feed_tokens import calendar_link_issue, calendar_link_url
    from scheduling.models import CalendarLink

    world.ivanova.preferred_language = "en"  # the page's words are read below
    world.ivanova.save(update_fields=["preferred_language"])
    client.force_login(world.ivanova)
    first = calendar_link_issue(user=world.ivanova, case=world.case_a)
    second = calendar_link_issue(user=world.ivanova, case=world.case_a, fresh=True)
    request = type("R", (), {"build_absolute_uri": staticmethod(lambda p: p)})()
    first_url, second_url = (calendar_link_url(request=request, link=x) for x in (first, second))
    page = client.get(f"/portal/cases/{world.case_a.pk}/dates/").content.decode()
    assert page.count('name="action" value="revoke"') == 2
    response = client.post(
        f"/portal/cases/{world.case_a.pk}/dates/links/", {"action": "revoke", "link": first.pk}, follow=True
    )
    assert response.status_code == 200 and "revoked" in response.content.decode()
    assert APIClient().get(first_url).status_code == 401
    assert APIClient().get(second_url).status_code == 200
    assert CalendarLink.objects.get(pk=first.pk).revoked_at is not None
    # Another family cannot revoke it (404, not 403), and a new link is made on request.
    other = CalendarLink.objects.create(user=world.chen, case=world.case_b, expires_at=second.expires_at)
    assert (
        client.post(f"/portal/cases/{world.case_a.pk}/dates/links/", {"action": "revoke", "link": other.pk}).status_code
        == 404
    )
    made = client.post(f"/portal/cases/{world.case_a.pk}/dates/links/", {"action": "create"}, follow=True)
    assert "/api/v1/cases/" in made.content.decode() and CalendarLink.objects.filter(user=world.ivanova).count() == 3


def test_a_coordinator_revokes_a_link_from_the_admin(client, world):
    from scheduling.models import CalendarLink

    url = _link(world, world.ivanova, world.case_a)
    link = CalendarLink.objects.get(user=world.ivanova)
    client.force_login(world.alice)
    listing = client.get("/admin/scheduling/calendarlink/")
    assert listing.status_code == 200 and world.case_a.reference in listing.content.decode()
    response = client.post(
        "/admin/scheduling/calendarlink/", {"action": "revoke", "_selected_action": [link.pk]}, follow=True
    )
    assert "1 calendar link(s) revoked" in response.content.decode()
    assert APIClient().get(url).status_code == 401
