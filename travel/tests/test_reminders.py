"""Travel dates become milestones; moving a date moves the milestone and its reminders."""

import datetime as dt

import pytest

from scheduling.models import Milestone, Reminder
from travel.airports import to_instant
from travel.models import Admission, VisaApplication
from travel.services import travel_delete, travel_save
from travel.tests.helpers import admission, day, journey, leg, traveller, visa


def milestone(case, key):
    return Milestone.objects.get(case=case, key=key)


def test_a_departure_is_scheduled_for_the_family_and_moves_when_the_flight_moves(world):
    j = journey(world.case_a, world.alice)
    d = day(40)
    flight = leg(
        j,
        world.alice,
        "ALA",
        "PEK",
        dt.datetime.combine(d, dt.time(23, 55)),
        dt.datetime.combine(d + dt.timedelta(days=1), dt.time(6, 40)),
        flight_number="KC887",
    )
    m = milestone(world.case_a, f"travel-departure:{flight.pk}")
    assert m.due_at == flight.departure_at
    assert m.concerns_family is True
    assert m.status == Milestone.Status.PENDING
    before = sorted(
        Reminder.objects.filter(milestone=m, status=Reminder.Status.PENDING).values_list("send_at", flat=True)
    )
    assert before, "the travel reminder rules plan reminders"

    flight.departure_at = to_instant(dt.datetime.combine(d + dt.timedelta(days=3), dt.time(23, 55)), "Asia/Almaty")
    flight.arrival_at = flight.departure_at + dt.timedelta(hours=5, minutes=45)
    travel_save(obj=flight, actor=world.alice)
    m.refresh_from_db()
    assert m.due_at == flight.departure_at
    after = sorted(
        Reminder.objects.filter(milestone=m, status=Reminder.Status.PENDING).values_list("send_at", flat=True)
    )
    assert after and after[0] > before[0]
    world.case_a.refresh_from_db()
    assert world.case_a.next_due_at is not None


def test_only_the_first_flight_of_a_journey_gets_a_departure_milestone(world):
    j = journey(world.case_a, world.alice)
    d = day(40)
    first = leg(
        j,
        world.alice,
        "ALA",
        "URC",
        dt.datetime.combine(d, dt.time(8)),
        dt.datetime.combine(d, dt.time(13)),
        position=1,
    )
    second = leg(
        j,
        world.alice,
        "URC",
        "PEK",
        dt.datetime.combine(d, dt.time(15)),
        dt.datetime.combine(d, dt.time(19)),
        position=2,
    )
    keys = set(
        Milestone.objects.filter(case=world.case_a, key__startswith="travel-departure")
        .open()
        .values_list("key", flat=True)
    )
    assert keys == {f"travel-departure:{first.pk}"}
    travel_delete(obj=first, actor=world.alice)
    keys = set(
        Milestone.objects.filter(case=world.case_a, key__startswith="travel-departure")
        .open()
        .values_list("key", flat=True)
    )
    assert keys == {f"travel-departure:{second.pk}"}


def test_an_admission_is_scheduled_at_the_centre_and_moves_and_cancels(world):
    a = admission(world.case_a, world.alice, world.pkuph, day(30), ward="Haematology 3")
    m = milestone(world.case_a, f"travel-admission:{a.pk}")
    assert m.concerns_family and m.hospital_id == world.pkuph.pk
    assert m.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == day(30)

    a.admission_date = day(33)
    travel_save(obj=a, actor=world.alice)
    m.refresh_from_db()
    assert m.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).date() == day(33)

    a.status = Admission.Status.CANCELLED
    travel_save(obj=a, actor=world.alice)
    m.refresh_from_db()
    assert m.status == Milestone.Status.CANCELLED


def test_visa_steps_are_due_n_days_before_departure_and_say_who_acts(world, settings):
    settings.TRAVEL_VISA_LEAD_DAYS = 14
    t = traveller(world.case_a, world.alice)
    v = visa(t, world.alice)
    # No flight or admission yet: no date to hang the visa on.
    assert not Milestone.objects.filter(key=f"travel-visa:{v.pk}").exists()

    j = journey(world.case_a, world.alice)
    d = day(40)
    leg(j, world.alice, "ALA", "PEK", dt.datetime.combine(d, dt.time(10)), dt.datetime.combine(d, dt.time(16)))
    m = milestone(world.case_a, f"travel-visa:{v.pk}")
    assert m.due_at.astimezone(dt.timezone(dt.timedelta(hours=5))).date() == d - dt.timedelta(days=14)
    assert m.concerns_family is False  # the coordinator asks the centre for the invitation

    v.status = VisaApplication.Status.INVITATION_RECEIVED
    travel_save(obj=v, actor=world.alice)
    m.refresh_from_db()
    assert m.concerns_family is True and "Submit" in m.title
    assert v.invitation_received_on is not None  # the step's date is recorded

    v.status = VisaApplication.Status.GRANTED
    travel_save(obj=v, actor=world.alice)
    m.refresh_from_db()
    assert m.status == Milestone.Status.DONE


def test_syncing_twice_changes_nothing(world):
    from travel.reminders import travel_milestones_sync

    a = admission(world.case_a, world.alice, world.pkuph, day(30))
    m = milestone(world.case_a, f"travel-admission:{a.pk}")
    reminders = list(Reminder.objects.filter(milestone=m).values_list("pk", "send_at"))
    travel_milestones_sync(case=world.case_a)
    travel_milestones_sync(case=world.case_a)
    assert list(Reminder.objects.filter(milestone=m).values_list("pk", "send_at")) == reminders
    assert Milestone.objects.filter(case=world.case_a, key__startswith="travel-").count() == 1


@pytest.mark.parametrize("field", ["admission_date"])
def test_a_refused_change_leaves_the_milestone_where_it_was(world, field):
    from django.core.exceptions import ValidationError

    a = admission(world.case_a, world.alice, world.pkuph, day(30))
    m = milestone(world.case_a, f"travel-admission:{a.pk}")
    due = m.due_at
    a.infusion_estimate_days = 500
    a.admission_date = day(45)
    with pytest.raises(ValidationError):
        travel_save(obj=a, actor=world.alice)
    m.refresh_from_db()
    assert m.due_at == due
    a.refresh_from_db()
    assert a.admission_date == day(30)
