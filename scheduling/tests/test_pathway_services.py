import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from cases.services import case_transition
from navigator.errors import DomainError
from scheduling.models import CoordinatorTask, Milestone, MRDResult, Reminder
from scheduling.services import (
    event_delete,
    event_record,
    milestones_escalate,
    mrd_result_record,
    transplant_decision_record,
)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _future(days):
    return timezone.localdate() + dt.timedelta(days=days)


def _ms(case):
    return {m.key: m for m in Milestone.objects.filter(case=case)}


def test_recording_an_infusion_derives_day_28_and_day_60_at_nine_at_the_centre(world):
    d0 = _future(10)
    event_record(case=world.case_a, kind="infusion", occurred_on=d0, actor=world.alice, hospital=world.pkuph)
    ms = _ms(world.case_a)
    day28 = ms["pathway:mrd_day28"].due_at.astimezone(SHANGHAI)
    assert day28.date() == d0 + dt.timedelta(days=28) and day28.hour == 9
    assert ms["pathway:mrd_day60"].due_at.astimezone(SHANGHAI).date() == d0 + dt.timedelta(days=60)
    assert ms["pathway:mrd_day28"].concerns_family
    world.case_a.refresh_from_db()
    assert world.case_a.next_due_title == "CAR-T infusion (day 0)"


def test_moving_the_infusion_three_days_moves_every_dependent_milestone_and_its_reminders(world):
    d0 = _future(20)
    event_record(case=world.case_a, kind="infusion", occurred_on=d0, actor=world.alice, hospital=world.pkuph)
    before = {r.pk: r.send_at for r in Reminder.objects.filter(milestone__case=world.case_a)}
    assert before
    _, changes = event_record(
        case=world.case_a, kind="infusion", occurred_on=d0 + dt.timedelta(days=3), actor=world.alice
    )
    moved = {m["key"] for m in changes.moved}
    assert moved == {"pathway:infusion", "pathway:stay_near_centre", "pathway:mrd_day28", "pathway:mrd_day60"}
    assert changes.reminders_moved >= len(before) - 2  # reminders of "today" may merge into "now"
    for r in Reminder.objects.filter(milestone__case=world.case_a, status="pending"):
        if r.pk in before and r.slot not in ("-7d",):
            assert r.send_at - before[r.pk] == dt.timedelta(days=3)
    assert Reminder.objects.filter(milestone__case=world.case_a).count() == len(before)
    event = AuditEvent.objects.filter(action="pathway_changed").latest("id")
    assert {m["key"] for m in event.detail["moved"]} == moved


def test_an_infusion_that_took_place_marks_its_own_milestone_done(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-1), status="done", actor=world.alice)
    ms = _ms(world.case_a)
    assert ms["pathway:infusion"].status == Milestone.Status.DONE
    assert ms["pathway:mrd_day28"].status == Milestone.Status.PENDING


def test_a_done_event_cannot_be_in_the_future(world):
    with pytest.raises(DomainError) as err:
        event_record(case=world.case_a, kind="infusion", occurred_on=_future(2), status="done", actor=world.alice)
    assert err.value.field == "occurred_on"
    assert not Milestone.objects.exists()


def test_removing_an_event_cancels_what_it_derived(world):
    event, _ = event_record(case=world.case_a, kind="infusion", occurred_on=_future(5), actor=world.alice)
    changes = event_delete(event=event, actor=world.alice)
    assert "pathway:mrd_day28" in changes.cancelled
    assert not Milestone.objects.open().exists()
    assert not Reminder.objects.filter(status="pending").exists()


def test_mrd_positive_at_day_28_opens_an_urgent_task_at_once(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-28), status="done", actor=world.alice)
    mrd = mrd_result_record(
        case=world.case_a,
        actor=world.alice,
        checkpoint="day28",
        sample_date=timezone.localdate(),
        method="flow",
        value=Decimal("0.002"),
        result="positive",
        complete_remission=True,
    )
    task = CoordinatorTask.objects.get(case=world.case_a)
    assert task.priority == CoordinatorTask.Priority.URGENT
    assert task.assignee == world.alice and task.mrd_result == mrd
    assert "transplant timing" in task.title
    assert _ms(world.case_a)["pathway:mrd_day28"].status == Milestone.Status.DONE
    assert "pathway:transplant_planning" not in _ms(world.case_a)


def test_mrd_negative_cr_starts_transplant_planning(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-28), status="done", actor=world.alice)
    mrd_result_record(
        case=world.case_a,
        actor=world.alice,
        checkpoint="day28",
        sample_date=timezone.localdate(),
        method="pcr_1e5",
        result="negative",
        complete_remission=True,
    )
    ms = _ms(world.case_a)
    assert ms["pathway:transplant_planning"].status == Milestone.Status.PENDING
    # No MDT decision yet: no family is shown a transplant date.
    assert "pathway:transplant_window_opens" not in ms and "pathway:transplant_window_closes" not in ms
    transplant_decision_record(case=world.case_a, actor=world.alice, decision="planned", decided_on=_future(0))
    ms = _ms(world.case_a)
    assert ms["pathway:transplant_window_closes"].due_at.astimezone(SHANGHAI).date() == _future(-28 + 120)
    assert not CoordinatorTask.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"value": Decimal("0.01"), "result": "negative"}, "value"),
        ({"value": Decimal("2")}, "value"),
        ({"method": "guess"}, "method"),
        ({"sample_date": dt.date(2099, 1, 1)}, "sample_date"),
        ({"checkpoint": "day29"}, "checkpoint"),
        ({"complete_remission": None}, "complete_remission"),  # remission is entered explicitly, never assumed
    ],
)
def test_an_implausible_mrd_result_is_refused_naming_the_field(world, kwargs, field):
    args = {
        "case": world.case_a,
        "actor": world.alice,
        "checkpoint": "day28",
        "sample_date": timezone.localdate(),
        "method": "flow",
        "result": "positive",
        "complete_remission": True,
        **kwargs,
    }
    with pytest.raises(DomainError) as err:
        mrd_result_record(**args)
    assert err.value.field == field
    assert not MRDResult.objects.exists()


def test_a_checkpoint_without_a_result_escalates_once_after_three_days(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-32), status="done", actor=world.alice)
    assert milestones_escalate() == 1  # day 28 was 4 days ago; day 60 is ahead
    assert milestones_escalate() == 0
    m = _ms(world.case_a)["pathway:mrd_day28"]
    assert m.status == Milestone.Status.ESCALATED
    task = CoordinatorTask.objects.get(milestone=m)
    assert task.priority == CoordinatorTask.Priority.URGENT
    escalation = Reminder.objects.filter(milestone=m, is_escalation=True)
    assert escalation.exists() and all(r.status == "pending" for r in escalation)
    # The result arrives: the milestone is done and no further reminder goes out.
    mrd_result_record(
        case=world.case_a,
        actor=world.alice,
        checkpoint="day28",
        sample_date=timezone.localdate(),
        method="flow",
        result="negative",
        complete_remission=True,
    )
    assert not Reminder.objects.filter(milestone=m, status="pending").exists()


def test_closing_a_case_cancels_its_milestones_and_reminders(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(5), actor=world.alice)
    case_transition(case=world.case_a, to_status="withdrawn", actor=world.alice, reason="Family chose another centre")
    assert not Milestone.objects.filter(case=world.case_a).open().exists()
    assert not Reminder.objects.filter(status="pending").exists()
    world.case_a.refresh_from_db()
    assert world.case_a.next_due_at is None


def _local_hours(reminders):
    return {(r.send_at.astimezone(ZoneInfo(r.time_zone)).hour) for r in reminders}


def test_reminders_reach_each_recipient_in_waking_hours_of_their_own_zone(world):
    world.contact_a.time_zone = "America/Sao_Paulo"
    world.contact_a.save()
    world.alice.time_zone = "Europe/Moscow"
    world.alice.save()
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(20), actor=world.alice, hospital=world.pkuph)
    family = Reminder.objects.filter(audience="family")
    coordinator = Reminder.objects.filter(audience="coordinator")
    assert family.exists() and coordinator.exists()
    assert all(9 <= h < 20 for h in _local_hours(family))
    assert all(9 <= h < 20 for h in _local_hours(coordinator))
    assert {r.time_zone for r in family} == {"America/Sao_Paulo"}
    # Day 28 is due at 09:00 in Beijing = 22:00 the evening before in Sao Paulo: the family hears
    # "on the day" at 19:00 the evening before, not at 22:00 and not after the assessment.
    day28 = Milestone.objects.get(key="pathway:mrd_day28")
    on_day = family.get(milestone=day28, slot="on the day", channel="email")
    local = on_day.send_at.astimezone(ZoneInfo("America/Sao_Paulo"))
    assert local.hour == 19 and on_day.send_at < day28.due_at


def test_a_clock_change_between_planning_and_sending_keeps_the_local_hour(world, settings):
    # Planned in winter (GMT) for a family in London; the reminders fall after the change to BST.
    world.contact_a.time_zone = "Europe/London"
    world.contact_a.save()
    due = dt.datetime(2027, 4, 6, 14, 0, tzinfo=ZoneInfo("Europe/London"))  # BST
    from scheduling.reminders import plan_reminders
    from scheduling.services import milestone_upsert

    m = milestone_upsert(
        case=world.case_a, key="x", kind="other", due_at=due, title="Clinic", concerns_family=True
    ).milestone
    now = dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)  # GMT at planning time
    planned = [p for p in plan_reminders(milestone=m, now=now) if p.recipient.audience == "family"]
    assert planned
    for p in planned:
        local = p.send_at.astimezone(ZoneInfo("Europe/London"))
        assert local.hour == 14  # 14:00 local on the day before and on the day: 13:00 UTC in BST
        assert p.send_at.hour == 13


def test_a_ph_positive_profile_gets_the_tki_maintenance_check_without_a_separate_event(world):
    from eligibility.services import profile_update

    d0 = _future(5)
    event_record(case=world.case_a, kind="infusion", occurred_on=d0, actor=world.alice, hospital=world.pkuph)
    assert "pathway:tki_maintenance" not in _ms(world.case_a)

    profile_update(case=world.case_a, actor=world.alice, philadelphia_status="positive", current_tki="ponatinib")
    tki = _ms(world.case_a)["pathway:tki_maintenance"]
    assert tki.status == Milestone.Status.PENDING
    assert tki.due_at.astimezone(SHANGHAI).date() == d0 + dt.timedelta(days=28)

    # Corrected to Ph-negative: the check is cancelled with its reminders.
    profile_update(case=world.case_a, actor=world.alice, philadelphia_status="negative")
    assert _ms(world.case_a)["pathway:tki_maintenance"].status == Milestone.Status.CANCELLED


def _mrd(world, day, result, checkpoint="other", remission=True):
    return mrd_result_record(
        case=world.case_a,
        actor=world.alice,
        checkpoint=checkpoint,
        sample_date=_future(-60) + dt.timedelta(days=day),
        method="flow",
        result=result,
        complete_remission=remission,
    )


def test_a_day_28_sample_entered_as_other_is_the_day_28_checkpoint(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-60), status="done", actor=world.alice)
    mrd = _mrd(world, 31, "positive", checkpoint="other")  # day 31: within 7 days of day 28
    assert mrd.checkpoint == "day28"
    assert _ms(world.case_a)["pathway:mrd_day28"].status == Milestone.Status.DONE
    task = CoordinatorTask.objects.get(mrd_result=mrd)
    assert task.priority == CoordinatorTask.Priority.URGENT and task.title.startswith("Day-28 MRD-positive")
    assert _mrd(world, 45, "negative").checkpoint == "other"  # day 45: neither checkpoint


def test_a_positive_result_at_day_60_opens_an_urgent_task_too(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-60), status="done", actor=world.alice)
    mrd = _mrd(world, 60, "positive", checkpoint="day28")  # mislabelled: the date decides
    assert mrd.checkpoint == "day60"
    assert CoordinatorTask.objects.get(mrd_result=mrd).priority == CoordinatorTask.Priority.URGENT


def test_mrd_returning_after_a_negative_result_is_a_conversion_and_urgent(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-60), status="done", actor=world.alice)
    _mrd(world, 28, "negative")
    assert not CoordinatorTask.objects.exists()
    mrd = _mrd(world, 58, "positive")
    task = CoordinatorTask.objects.get(mrd_result=mrd)
    assert "conversion" in task.title and task.priority == CoordinatorTask.Priority.URGENT


def test_the_mdt_transplant_decision_drives_the_transplant_milestones(world):
    event_record(case=world.case_a, kind="infusion", occurred_on=_future(-40), status="done", actor=world.alice)
    mrd_result_record(
        case=world.case_a,
        actor=world.alice,
        checkpoint="day28",
        sample_date=_future(-12),
        method="pcr_1e5",
        result="negative",
        complete_remission=True,
    )
    transplant_decision_record(case=world.case_a, actor=world.alice, decision="planned")
    ms = _ms(world.case_a)
    target = ms["pathway:transplant_window_opens"]
    assert target.concerns_family and target.due_at.astimezone(SHANGHAI).date() == _future(-40 + 90)
    assert "planning target" in target.title
    assert not ms["pathway:transplant_window_closes"].concerns_family  # the latest date is for coordinators
    with pytest.raises(DomainError) as err:
        transplant_decision_record(case=world.case_a, actor=world.alice, decision="not_planned")
    assert err.value.field == "reason"
    transplant_decision_record(
        case=world.case_a, actor=world.alice, decision="not_planned", reason="Low-risk child, MDT: no transplant"
    )
    ms = _ms(world.case_a)
    for key in ("pathway:transplant_planning", "pathway:transplant_window_opens", "pathway:transplant_window_closes"):
        assert ms[key].status == Milestone.Status.CANCELLED
