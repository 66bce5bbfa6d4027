"""A family member who forgot the password gets a link by email, chooses a new one, and signs in."""

import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "a-quiet-river-at-dawn-42"


def test_a_family_resets_a_forgotten_password_by_email_and_signs_in_with_the_new_one(client, world):
    world.chen.email = "chen@family.example"
    world.chen.save()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    response = client.post(reverse("portal:password_reset"), {"email": "chen@family.example"})
    assert response.status_code == 302 and response.url == reverse("portal:password_reset_done")
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["chen@family.example"]
    body = mail.outbox[0].body
    assert "您好" in body  # in the language of the page it was asked from
    link = re.search(r"https?://\S+/portal/password/reset/\S+/", body).group(0)
    path = link.split("://", 1)[1].partition("/")[2]
    form = client.get("/" + path, follow=True)
    assert form.status_code == 200 and form.context["validlink"]
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.url == reverse("portal:password_reset_complete")
    world.chen.refresh_from_db()
    assert world.chen.check_password(NEW_PASSWORD)
    # The link works once.
    again = client.get("/" + path, follow=True)
    assert not again.context["validlink"]
    signed_in = client.post(reverse("portal:login"), {"username": "chen", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and int(client.session["_auth_user_id"]) == world.chen.pk


def test_an_unknown_address_gets_the_same_answer_and_no_email(client, world):
    response = client.post(reverse("portal:password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and response.url == reverse("portal:password_reset_done")
    assert mail.outbox == []


def test_staff_cannot_reset_their_password_through_the_family_portal(client, world):
    world.alice.email = "alice@navigator.example"
    world.alice.save()
    response = client.post(reverse("portal:password_reset"), {"email": "alice@navigator.example"})
    assert response.status_code == 302 and response.url == reverse("portal:password_reset_done")
    assert mail.outbox == []
