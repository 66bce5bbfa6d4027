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
