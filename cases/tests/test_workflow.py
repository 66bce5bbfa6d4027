import pytest

from cases import workflow
from cases.models import StatusChange
from cases.services import case_transition
from navigator.errors import DomainError


def test_every_status_has_a_label_and_a_transition_row():
    for status in workflow.MAIN_PATH + workflow.SIDE_EXITS:
        assert status in workflow.LABELS
        assert status in workflow.TRANSITIONS


def test_every_target_is_a_known_status():
    for targets in workflow.TRANSITIONS.values():
        assert targets <= set(workflow.TRANSITIONS)


def test_every_active_status_can_reach_closed():
    for start in workflow.TRANSITIONS:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            seen.add(current)
            todo.extend(workflow.TRANSITIONS[current] - seen)
        assert workflow.CLOSED in seen, start


def test_the_main_path_moves_forward_without_reasons():
    for here, there in zip(workflow.MAIN_PATH, workflow.MAIN_PATH[1:], strict=False):
        if there == workflow.CLOSED:
            continue
        assert workflow.check_transition(here, there).allowed, (here, there)


@pytest.mark.parametrize(
    ("start", "target", "message"),
    [
        ("inquiry", "in_treatment", "cannot move to “In treatment”"),
        ("closed", "inquiry", "is final"),
        ("referred", "referred", "already in"),
        ("referred", "withdrawn", "needs a reason"),
        ("eligibility_screening", "records_collection", "needs a reason"),
        ("inquiry", "nonsense", "is not a case status"),
    ],
)
def test_refused_transitions_say_why(start, target, message):
    decision = workflow.check_transition(start, target)
    assert not decision.allowed
    assert message in decision.reason


def test_a_transition_is_recorded_with_who_when_and_why(world):
    change = case_transition(case=world.case_a, to_status="records_collection", actor=world.alice)
    world.case_a.refresh_from_db()
    assert world.case_a.status == "records_collection"
    assert change.from_status == "inquiry" and change.to_status == "records_collection"
    assert change.changed_by == world.alice


def test_a_refused_transition_changes_nothing(world):
    before = StatusChange.objects.count()
    with pytest.raises(DomainError) as caught:
        case_transition(case=world.case_a, to_status="deceased", actor=world.alice)
    assert "needs a reason" in caught.value.message
    world.case_a.refresh_from_db()
    assert world.case_a.status == "inquiry"
    assert StatusChange.objects.count() == before


def test_a_side_exit_with_a_reason_is_allowed(world):
    change = case_transition(
        case=world.case_a, to_status="withdrawn", actor=world.alice, reason="Family chose treatment at home"
    )
    assert change.reason == "Family chose treatment at home"
