"""What a parent on a phone tripped over, each fixed: signing in after an invitation, counts that
add up, plurals, names instead of logins, deadlines in the reader's zone with a readable zone name,
the invitation's expiry zone, travel times at both ends, isolated route names, errors tied to fields."""

import datetime as dt
import io
import re
import zoneinfo

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from documents.services import document_create, document_request_create
from messaging.services import message_post
from portal import formats, services
from travel.tests.helpers import journey, leg, traveller

pytestmark = pytest.mark.django_db
LANGUAGES = ["en", "zh-hans", "ar", "ru"]


def _pdf() -> io.BytesIO:
    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.drawString(20, 800, "CD19 flow cytometry report")
    pdf.showPage()
    pdf.save()
    buffer.seek(0)
    return buffer


def _page(client, user, name, case, language="en"):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    response = client.get(reverse(f"portal:{name}", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_save_and_sign_in_after_an_invitation_lands_signed_in_on_the_case(client, world):
    from cases.factories import ContactFactory

    contact = ContactFactory(patient=world.patient_a, name="Pavel Ivanov", email="pavel@example.org")
    invitation, raw = services.invitation_create(contact=contact, actor=world.alice)
    response = client.post(
        reverse("portal:accept_invitation", args=[raw]),
        {"username": "pavel", "password1": "a-long-Passphrase-2026", "password2": "a-long-Passphrase-2026"},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("portal:case", args=[world.case_a.pk])
    assert response.wsgi_request.user.username == "pavel"
    assert client.get(reverse("portal:case", args=[world.case_a.pk])).status_code == 200


def test_the_invitation_email_names_the_zone_of_its_expiry_time(world):
    world.contact_a.email = "olga@example.org"
    world.contact_a.language = "ru"
    world.contact_a.time_zone = "Europe/Moscow"
    world.contact_a.save()
    mail.outbox.clear()
    services.invitation_create_and_send(contact=world.contact_a, actor=world.alice)
    assert "(\u2068Москва\u2069)" in mail.outbox[0].body


def test_counts_add_up_with_files_in_review_and_plural_messages(client, world):
    document_create(case=world.case_b, file=_pdf(), filename="cd19.pdf", doc_type="cd19_flow", actor=world.chen)
    message_post(author=world.bob, case=world.case_b, kind="family", body="Hello")
    html = _page(client, world.chen, "case", world.case_b)
    assert "1 in review" in html
    assert re.search(r'stat-number">1</span>\s*<span>new message</span>', html)
    message_post(author=world.bob, case=world.case_b, kind="family", body="Again")
    html = _page(client, world.chen, "case", world.case_b)
    assert re.search(r'stat-number">2</span>\s*<span>new messages</span>', html)
    from portal import selectors

    rows, counts = selectors.checklist_with_counts(world.case_b)
    assert counts["in_review_count"] == 1
    # Every record the case needs is accepted, in review or needed; the rest are "only if it applies".
    counted = [r for r in rows if r.state in ("satisfied", "in_review") or r.needs_action]
    assert counts["accepted_count"] + counts["in_review_count"] + counts["needed_count"] == len(counted)


@pytest.mark.parametrize(
    "language, text",
    [("en", "1 in review"), ("zh-hans", "审核中 1 份"), ("ar", "قيد المراجعة: 1"), ("ru", "на проверке: 1")],
)
def test_the_in_review_count_reads_in_each_language(client, world, language, text):
    document_create(case=world.case_b, file=_pdf(), filename="cd19.pdf", doc_type="cd19_flow", actor=world.chen)
    assert text in _page(client, world.chen, "case", world.case_b, language)


def test_the_other_family_member_is_shown_by_name_not_login(client, world):
    from cases.factories import ContactFactory, UserFactory

    brother = UserFactory(username="family.ivanov", role="family", first_name="", last_name="")
    ContactFactory(patient=world.patient_a, name="Pavel Ivanov", user=brother)
    message_post(author=brother, case=world.case_a, kind="family", body="I have the passport copy")
    html = _page(client, world.ivanova, "messages", world.case_a)
    assert "Pavel Ivanov" in html
    assert "family.ivanov" not in html


@pytest.mark.parametrize(
    "language, zone", [("en", "Moscow Time"), ("zh-hans", "莫斯科时间"), ("ar", "توقيت موسكو"), ("ru", "Москва")]
)
def test_a_deadline_reads_end_of_day_in_the_readers_zone_with_a_zone_name(client, world, language, zone):
    world.ivanova.time_zone = "Europe/Moscow"
    world.ivanova.save(update_fields=["time_zone"])
    due = timezone.localdate() + dt.timedelta(days=5)
    document_request_create(
        case=world.case_a,
        doc_type="cd19_flow",
        description="CD19",
        due_date=due,
        actor=world.alice,
        asked_contact=world.contact_a,
    )
    html = _page(client, world.ivanova, "schedule", world.case_a, language)
    with translation.override(language):
        day = formats.day_text(due)
    assert day in html
    assert zone in html
    assert "9:59" not in html and "23:59" not in html and "Europe/Moscow" not in html


def test_the_deadline_is_the_end_of_the_day_of_the_person_asked(world):
    world.ivanova.time_zone = "Europe/Moscow"
    world.ivanova.save(update_fields=["time_zone"])
    due = timezone.localdate() + dt.timedelta(days=5)
    request = document_request_create(
        case=world.case_a,
        doc_type="cd19_flow",
        description="CD19",
        due_date=due,
        actor=world.alice,
        asked_contact=world.contact_a,
    )
    from scheduling.models import Milestone

    milestone = Milestone.objects.get(key=request.milestone_key)
    moscow = zoneinfo.ZoneInfo("Europe/Moscow")
    assert milestone.due_at.astimezone(moscow) == dt.datetime.combine(due, dt.time(23, 59), tzinfo=moscow)
    # A reader in Shanghai (five hours ahead) reads the same moment in their own zone.
    with translation.override("en"), timezone.override(zoneinfo.ZoneInfo("Asia/Shanghai")):
        text = formats.deadline_text(milestone.due_at)
    assert text.startswith("by 04:59 on ") and "China" in text


@pytest.mark.parametrize(
    "language, moscow, beijing",
    [("en", "Moscow", "Beijing"), ("zh-hans", "莫斯科", "北京"), ("ar", "موسكو", "بكين"), ("ru", "Москва", "Пекин")],
)
def test_a_flight_shows_departure_and_arrival_in_local_times_with_translated_isolated_cities(
    client, world, language, moscow, beijing
):
    traveller(world.case_a, world.alice)
    day = timezone.localdate() + dt.timedelta(days=30)
    leg(
        journey(world.case_a, world.alice),
        world.alice,
        "SVO",
        "PEK",
        dt.datetime.combine(day, dt.time(19, 15)),
        dt.datetime.combine(day + dt.timedelta(days=1), dt.time(7, 45)),
        flight_number="SU204",
    )
    html = _page(client, world.ivanova, "schedule", world.case_a, language)
    assert f"\u2068{moscow}\u2069" in html and f"\u2068{beijing}\u2069" in html
    assert "19:15" in html and "07:45" in html
    if language == "ar":
        # Right to left: Moscow first, the arrow pointing on to Beijing.
        assert f"\u2068{moscow}\u2069 ← \u2068{beijing}\u2069" in html
    assert "Europe/Moscow" not in html


def test_an_empty_message_focuses_the_field_tied_to_its_error(client, world):
    client.force_login(world.chen)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = client.post(reverse("portal:messages", args=[world.case_b.pk]), {"body": ""}).content.decode()
    assert 'id="id_body_error"' in html
    textarea = html[html.index("<textarea") : html.index(">", html.index("<textarea"))]
    assert 'aria-invalid="true"' in textarea and 'aria-describedby="id_body_error"' in textarea
    assert "autofocus" in textarea


def test_the_login_error_is_tied_to_both_fields(client, world):
    html = client.post(reverse("portal:login"), {"username": "chen", "password": "wrong"}).content.decode()
    assert 'id="form-errors"' in html
    for name in ("username", "password"):
        start = html.index(f'name="{name}"')
        tag = html[html.rindex("<input", 0, start) : html.index(">", start)]
        assert 'aria-invalid="true"' in tag and 'aria-describedby="form-errors"' in tag


def _sent_by_family(world, doc_type="bone_marrow"):
    return document_create(
        case=world.case_b, file=_pdf(), filename="report.pdf", doc_type=doc_type, actor=world.chen, source="family"
    )


def test_the_family_relabels_a_file_sent_under_the_wrong_type_before_review(client, world):
    from audit.models import AuditEvent

    document = _sent_by_family(world)
    html = _page(client, world.chen, "records", world.case_b)
    assert f'action="/portal/cases/{world.case_b.pk}/records/{document.pk}/"' in html
    response = client.post(
        reverse("portal:record_fix", args=[world.case_b.pk, document.pk]),
        {"action": "relabel", "doc_type": "cd19_flow"},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.doc_type == "cd19_flow"
    event = AuditEvent.objects.filter(object_id=str(document.pk), action="update").latest("id")
    assert event.detail["doc_type"] == ["bone_marrow", "cd19_flow"]


def test_the_family_withdraws_a_file_before_review_and_not_after(client, world):
    from documents.models import Document
    from documents.services import document_start_review

    document = _sent_by_family(world)
    client.force_login(world.chen)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    url = reverse("portal:record_fix", args=[world.case_b.pk, document.pk])
    assert client.post(url, {"action": "withdraw"}).status_code == 302
    assert not Document.objects.filter(pk=document.pk).exists()

    reviewed = _sent_by_family(world, "cd19_flow")
    document_start_review(document=reviewed, actor=world.bob)
    url = reverse("portal:record_fix", args=[world.case_b.pk, reviewed.pk])
    client.post(url, {"action": "withdraw"})
    client.post(url, {"action": "relabel", "doc_type": "passport"})
    reviewed.refresh_from_db()
    assert reviewed.doc_type == "cd19_flow"
    assert "already being reviewed" in client.get(reverse("portal:records", args=[world.case_b.pk])).content.decode()


def test_another_family_cannot_touch_a_file(client, world):
    document = _sent_by_family(world)
    client.force_login(world.ivanova)
    response = client.post(reverse("portal:record_fix", args=[world.case_b.pk, document.pk]), {"action": "withdraw"})
    assert response.status_code == 404
    client.force_login(world.ivanova)
    response = client.post(reverse("portal:record_fix", args=[world.case_a.pk, document.pk]), {"action": "withdraw"})
    assert response.status_code == 404
    document.refresh_from_db()


def test_a_coordinator_cannot_use_the_family_correction(world):
    from documents.services import document_family_withdraw
    from navigator.errors import DomainError

    document = _sent_by_family(world)
    with pytest.raises(DomainError):
        document_family_withdraw(document=document, actor=world.bob)
