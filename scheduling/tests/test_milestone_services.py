import datetime as dt

import pytest
from django.utils import timezone

from navigator.errors import DomainError
from scheduling.models import Milestone
from scheduling.services import milestone_cancel, milestone_upsert

pytestmark = pytest.mark.django_db


def _at(days: int) -> dt.datetime:
    return timezone.now().replace(microsecond=0) + dt.timedelta(days=days)


def test_upserting_a_new_key_creates_a_milestone_and_sets_the_cases_next_due(world):
    m = milestone_upsert(
        case=world.case_a, key="document-request:1", kind="document_request", due_at=_at(5), title="MRD report due"
    ).milestone
    world.case_a.refresh_from_db()
    assert m.status == Milestone.Status.PENDING
    assert world.case_a.next_due_at == m.due_at
    assert world.case_a.next_due_title == "MRD report due"


def test_upserting_the_same_key_moves_the_milestone_instead_of_adding_one(world):
    milestone_upsert(case=world.case_a, key="travel-departure:3", kind="travel", due_at=_at(10), title="Flight")
    moved_to = _at(12)  # read the clock once: a second may pass before the assertion
    change = milestone_upsert(
        case=world.case_a, key="travel-departure:3", kind="travel", due_at=moved_to, title="Flight"
    )
    assert change.moved and not change.created
    assert Milestone.objects.filter(case=world.case_a).count() == 1
    world.case_a.refresh_from_db()
    assert world.case_a.next_due_at == moved_to


def test_the_same_key_on_another_case_is_another_milestone(world):
    milestone_upsert(case=world.case_a, key="k", kind="other", due_at=_at(1), title="A")
    milestone_upsert(case=world.case_b, key="k", kind="other", due_at=_at(2), title="B")
    assert Milestone.objects.count() == 2


def test_cancelling_the_earliest_milestone_moves_next_due_to_the_following_one(world):
    milestone_upsert(case=world.case_a, key="a", kind="other", due_at=_at(1), title="First")
    milestone_upsert(case=world.case_a, key="b", kind="other", due_at=_at(3), title="Second")
    milestone_cancel(case=world.case_a, key="a")
    world.case_a.refresh_from_db()
    assert world.case_a.next_due_title == "Second"
    milestone_cancel(case=world.case_a, key="b")
    milestone_cancel(case=world.case_a, key="does-not-exist")
    world.case_a.refresh_from_db()
    assert world.case_a.next_due_at is None and world.case_a.next_due_title == ""


def test_upserting_a_cancelled_milestone_reopens_it(world):
    milestone_upsert(case=world.case_a, key="a", kind="other", due_at=_at(1), title="First")
    milestone_cancel(case=world.case_a, key="a")
    m = milestone_upsert(case=world.case_a, key="a", kind="other", due_at=_at(2), title="First").milestone
    assert m.status == Milestone.Status.PENDING


def test_the_source_may_be_a_row_of_another_app_or_a_label(world):
    m = milestone_upsert(
        case=world.case_a,
        key="referral-deadline:1",
        kind="referral_deadline",
        due_at=_at(1),
        title="Reply due",
        source=world.referral_a,
        hospital=world.pkuph,
    ).milestone
    assert m.source == world.referral_a
    m = milestone_upsert(
        case=world.case_a, key="x", kind="other", due_at=_at(1), title="X", source="manual import"
    ).milestone
    assert m.source_label == "manual import"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"key": ""}, "key"),
        ({"kind": "nonsense"}, "kind"),
        ({"due_at": dt.datetime(2030, 1, 1)}, "due_at"),
        ({"due_at": dt.date(2030, 1, 1)}, "due_at"),
        ({"title": "  "}, "title"),
    ],
)
def test_bad_input_names_the_field(world, kwargs, field):
    args = {"case": world.case_a, "key": "k", "kind": "other", "due_at": _at(1), "title": "T", **kwargs}
    with pytest.raises(DomainError) as err:
        milestone_upsert(**args)
    assert err.value.field == field
    assert not Milestone.objects.exists()
