from django.contrib.auth.models import AnonymousUser

from audit.actor import Actor


def test_a_signed_in_user_is_linked_labelled_by_username_and_carries_the_role(world):
    who = Actor.of(world.alice)
    assert who.user == world.alice and who.label == "alice" and who.role == world.alice.role_label
    assert who.is_user


def test_a_system_task_is_named_and_links_no_user():
    who = Actor.of("scheduling.sweep")
    assert who.user is None and who.label == "scheduling.sweep" and who.role == "system"
    assert not who.is_user


def test_no_actor_and_an_anonymous_caller_are_the_system():
    assert Actor.of(None) == Actor(user=None, label="system", role="system")
    assert Actor.of(AnonymousUser()).user is None and Actor.of(AnonymousUser()).label == "AnonymousUser"


def test_an_actor_passes_through_unchanged(world):
    who = Actor.of(world.alice)
    assert Actor.of(who) is who
