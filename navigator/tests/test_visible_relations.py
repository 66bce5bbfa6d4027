"""VisibleRelationsMixin: a related field offers only the rows its caller may see."""

from types import SimpleNamespace

from rest_framework import serializers

from cases.models import Case, FamilyContact
from navigator.api import VisibleRelationsMixin
from travel.api.serializers import JourneySerializer


class _ContactCaseSerializer(VisibleRelationsMixin, serializers.Serializer):
    visible_relations = ("case", "cases")
    case = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all())
    cases = serializers.PrimaryKeyRelatedField(queryset=Case.objects.all(), many=True)
    contact = serializers.PrimaryKeyRelatedField(queryset=FamilyContact.objects.all())


def _for(user):
    return _ContactCaseSerializer(context={"request": SimpleNamespace(user=user)})


def test_a_named_relation_offers_only_what_the_caller_sees_single_or_many(world):
    fields = _for(world.ivanova).fields
    assert list(fields["case"].queryset) == [world.case_a]
    assert list(fields["cases"].child_relation.queryset) == [world.case_a]


def test_an_id_the_caller_may_not_see_is_refused_like_a_missing_one(world):
    serializer = _ContactCaseSerializer(
        data={"case": world.case_b.pk, "cases": [world.case_a.pk], "contact": world.contact_a.pk},
        context={"request": SimpleNamespace(user=world.ivanova)},
    )
    assert not serializer.is_valid()
    assert serializer.errors["case"][0].code == "does_not_exist"


def test_unnamed_relations_and_callers_without_a_request_are_left_alone(world):
    assert _for(world.ivanova).fields["contact"].queryset.count() == FamilyContact.objects.count()
    assert _ContactCaseSerializer().fields["case"].queryset.count() == Case.objects.count()


def test_travel_serializers_narrow_the_case_and_their_own_relations(world):
    fields = JourneySerializer(context={"request": SimpleNamespace(user=world.chen)}).fields
    assert list(fields["case"].queryset) == [world.case_b]
    assert not fields["travellers"].child_relation.queryset.exclude(case=world.case_b).exists()
