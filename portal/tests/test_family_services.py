"""The portal's writes are services; its selectors only read."""

from django.urls import reverse

from messaging.models import Message, Thread
from portal import selectors, services
from portal.models import MessageReadMark


def test_messages_mark_read_sets_and_then_moves_the_family_members_mark(world):
    services.messages_mark_read(user=world.ivanova, case=world.case_a)
    first = MessageReadMark.objects.get(user=world.ivanova, case=world.case_a).read_at
    services.messages_mark_read(user=world.ivanova, case=world.case_a)
    marks = MessageReadMark.objects.filter(user=world.ivanova, case=world.case_a)
    assert marks.count() == 1 and marks.get().read_at >= first


def test_family_message_send_posts_in_the_family_thread_in_the_given_language(world):
    message = services.family_message_send(case=world.case_a, user=world.ivanova, body="Когда вылет?", language="ru")
    assert message.thread.kind == Thread.Kind.FAMILY and message.thread.case == world.case_a
    assert (message.body, message.language, message.author) == ("Когда вылет?", "ru", world.ivanova)


def test_user_language_set_changes_a_family_members_language_only(world):
    services.user_language_set(user=world.ivanova, language="en")
    services.user_language_set(user=world.alice, language="ar")
    world.ivanova.refresh_from_db()
    world.alice.refresh_from_db()
    assert world.ivanova.preferred_language == "en" and world.alice.preferred_language != "ar"


def test_reading_the_message_context_writes_nothing(world):
    services.family_message_send(case=world.case_a, user=world.ivanova, body="Hello", language="en")
    context = selectors.message_context(world.case_a, world.ivanova)
    assert [row["body"] for row in context["thread_messages"]] == ["Hello"]
    assert not MessageReadMark.objects.exists()


def test_the_messages_page_marks_the_thread_read_and_its_form_sends_through_the_service(world, client):
    client.force_login(world.ivanova)
    url = reverse("portal:messages", args=[world.case_a.pk])
    assert client.get(url).status_code == 200
    assert MessageReadMark.objects.filter(user=world.ivanova, case=world.case_a).exists()
    response = client.post(url, {"body": "Thank you"})
    assert response.status_code == 302
    assert Message.objects.filter(thread__case=world.case_a, body="Thank you", author=world.ivanova).exists()
