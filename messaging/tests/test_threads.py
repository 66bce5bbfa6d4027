import pytest
from rest_framework.test import APIClient

from messaging.models import Message, Thread, TranslationRequest
from messaging.services import message_post, thread_get_or_create, translation_complete
from navigator.errors import DomainError
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


def client_for(user):
    c = APIClient()
    c.force_authenticate(user)
    return c


@pytest.fixture
def threads(world):
    family_a = thread_get_or_create(case=world.case_a, kind=Thread.Kind.FAMILY)
    family_b = thread_get_or_create(case=world.case_b, kind=Thread.Kind.FAMILY)
    pkuph_a = thread_get_or_create(case=world.case_a, kind=Thread.Kind.HOSPITAL, hospital=world.pkuph)
    ruijin_a = thread_get_or_create(case=world.case_a, kind=Thread.Kind.HOSPITAL, hospital=world.ruijin)
    for t in (family_a, family_b, pkuph_a, ruijin_a):
        message_post(author=world.alice, thread=t, body=f"hello {t.pk}")
    return family_a, family_b, pkuph_a, ruijin_a


def test_a_family_sees_only_its_own_cases_family_thread(world, threads):
    family_a, family_b, pkuph_a, ruijin_a = threads
    ids = [t["id"] for t in client_for(world.ivanova).get("/api/v1/threads/").json()["results"]]
    assert ids == [family_a.pk]
    for other in (family_b, pkuph_a, ruijin_a):
        assert client_for(world.ivanova).get(f"/api/v1/threads/{other.pk}/messages/").status_code == 404


def test_a_hospital_sees_only_its_own_thread_on_cases_shared_with_it(world, threads):
    family_a, family_b, pkuph_a, ruijin_a = threads
    assert [t["id"] for t in client_for(world.dr_li).get("/api/v1/threads/").json()["results"]] == [pkuph_a.pk]
    assert client_for(world.dr_li).get(f"/api/v1/threads/{ruijin_a.pk}/").status_code == 404
    # Ruijin has a thread on case A but the case was never sent to Ruijin: nothing.
    assert client_for(world.dr_wang).get("/api/v1/threads/").json()["results"] == []


def test_posting_with_an_attachment_from_another_case_is_refused(world, threads):
    import io

    from documents.services import document_create
    from hospitals.tests.conftest import pdf_bytes

    doc_b = document_create(
        case=world.case_b,
        file=io.BytesIO(pdf_bytes("b")),
        filename="b.pdf",
        doc_type="other",
        actor=world.bob,
        via="admin",
    )
    family_a = threads[0]
    response = client_for(world.ivanova).post(
        f"/api/v1/threads/{family_a.pk}/messages/", {"body": "see attached", "attachments": [doc_b.pk]}, format="json"
    )
    assert response.status_code == 400 and "attachments" in response.json()["fields"]
    assert not Message.objects.filter(body="see attached").exists()


def test_a_coordinator_message_in_a_hospital_thread_is_sent_to_the_centres_webhook(world):
    WebhookEndpoint.objects.create(hospital=world.pkuph, url="https://his.example.cn/hooks")
    message_post(author=world.alice, case=world.case_a, kind=Thread.Kind.HOSPITAL, hospital=world.pkuph, body="Hi")
    delivery = WebhookDelivery.objects.select_related("event").get()
    assert delivery.event.type == "message.posted"
    message_post(author=world.dr_li, case=world.case_a, kind=Thread.Kind.HOSPITAL, hospital=world.pkuph, body="Hi!")
    assert WebhookDelivery.objects.count() == 1  # the centre is not told of its own messages


def test_a_message_marked_for_translation_gets_its_translation_linked(world, threads):
    family_a = threads[0]
    original = message_post(
        author=world.ivanova, thread=family_a, body="Когда будет результат?", language="ru", needs_translation=True
    )
    request = TranslationRequest.objects.get(message=original)
    assert request.target_language == "en"
    translation_complete(request=request, actor=world.alice, body="When will the result be ready?")
    request.refresh_from_db()
    assert request.status == "done"
    assert request.translated_message.translation_of == original
    with pytest.raises(DomainError):
        translation_complete(request=request, actor=world.alice, body="again")


def test_the_thread_list_keeps_a_constant_number_of_queries(world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from cases.factories import CaseFactory

    client = client_for(world.alice)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            client.get("/api/v1/threads/")
        return len(ctx.captured_queries)

    thread_get_or_create(case=world.case_a, kind=Thread.Kind.FAMILY)
    few = count()
    for _ in range(10):
        thread_get_or_create(case=CaseFactory(), kind=Thread.Kind.FAMILY)
    assert count() == few
