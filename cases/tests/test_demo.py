from django.core.management import call_command

from accounts.models import User
from cases import workflow
from cases.demo import STORIES, path_to
from cases.models import Case, StatusChange


def test_every_story_status_is_reachable_by_allowed_steps():
    for story in STORIES:
        steps = path_to(story.status)
        assert steps[0] == workflow.INQUIRY and steps[-1] == story.status
        for here, there in zip(steps, steps[1:], strict=False):
            assert there in workflow.TRANSITIONS[here]


def test_seed_demo_makes_stories_and_logins_once(db, settings, capsys):
    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "alice" in out and "family.ivanov" in out and "dr.li" in out
    stories = Case.objects.exclude(referrals__hospital__code="sandbox")
    assert stories.count() == len(STORIES)
    assert {c.status for c in Case.objects.all()} >= {"inquiry", "in_treatment", "not_eligible", "closed"}
    assert User.objects.filter(role="family").count() == len(STORIES)
    call_command("seed_demo")
    assert stories.count() == len(STORIES)


def test_seed_demo_refuses_demo_logins_in_production(db, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")


def test_bulk_cases_have_unique_references(db):
    call_command("seed_demo", "--cases", "1200", "--no-stories")
    assert Case.objects.count() == 1200
    assert Case.objects.values("reference").distinct().count() == 1200
    assert StatusChange.objects.count() == 1200


def test_seed_demo_gives_the_sandbox_centre_a_synthetic_case_in_each_state_and_a_key(db, settings, capsys):
    from hospitals.demo import SANDBOX_STATES
    from hospitals.models import Referral

    settings.DEBUG = True
    call_command("seed_demo")
    out = capsys.readouterr().out
    assert "sandbox.integrator" in out and "nvk_" in out
    states = sorted(Referral.objects.filter(hospital__code="sandbox").values_list("status", flat=True))
    assert states == sorted(SANDBOX_STATES)
    sandbox_cases = Case.objects.filter(referrals__hospital__code="sandbox")
    assert not sandbox_cases.filter(referrals__hospital__code="pkuph").exists()  # no story case is touched
    call_command("seed_demo")
    assert Referral.objects.filter(hospital__code="sandbox").count() == len(SANDBOX_STATES)
