"""The options desk of a case: why options are offered, the register screened, the shortlist
with reasons (audited), screening requests to trial teams through the referral machinery, and
the family's page in their language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from audit.models import AuditEvent
from cases.models import CaseShare
from eligibility.services import assessment_run, profile_record_fact, profile_update
from hospitals.factories import HospitalFactory
from hospitals.models import Hospital, Referral
from navigator.errors import DomainError
from options.demo import seed_setup
from options.models import Option, ShortlistEntry
from options.selectors import offer_reasons, options_screened, patient_facts, with_offer_flags
from options.services import screening_request_send, shortlist_add, shortlist_remove, shortlist_share
from scheduling.models import TreatmentEvent


@pytest.fixture
def register(world):
    seed_setup()
    team = HospitalFactory(code="cd22-trial", name_en="CD22 CAR-T trial team", kind=Hospital.Kind.TRIAL_TEAM)
    Option.objects.filter(short_name="CD22 CAR-T (trial)").update(trial_team=team)
    return {o.short_name: o for o in Option.objects.select_related("trial_team")}


def _cd19_negative_relapse(world):
    case, alice = world.case_b, world.alice
    today = timezone.localdate()
    profile_update(case=case, actor=alice, diagnosis_lineage="b_all", diagnosis_method="flow_cytometry")
    profile_record_fact(
        case=case, kind="cd19_results", actor=alice, status="negative", sample_date=today - dt.timedelta(days=5)
    )
    profile_record_fact(
        case=case, kind="cns_assessments", actor=alice, status="cns1", date=today - dt.timedelta(days=5)
    )
    return case


def test_the_register_screened_for_a_cd19_negative_case_keeps_cd22_and_drops_cd19_only(world, register):
    case = _cd19_negative_relapse(world)
    rows = {r.option.short_name: r.screen for r in options_screened(case, patient_facts(case))}
    assert rows["CD22 CAR-T (trial)"].result == "in"
    assert rows["Blinatumomab"].result == "out"
    assert any("CD19 only" in r.text for r in rows["Blinatumomab"].reasons)
    # Only for relapse after CD19 CAR-T: this patient had none.
    assert rows["CD22 CAR-T after CD19 CAR-T (ChiCTR trial)"].result == "out"


def test_the_screened_register_costs_the_same_queries_for_many_options(world, register):
    case = _cd19_negative_relapse(world)
    facts = patient_facts(case)
    with CaptureQueriesContext(connection) as few:
        options_screened(case, facts)
    Option.objects.bulk_create(
        [Option(short_name=f"Synthetic {i}", title="x", kind="other", source="test") for i in range(40)]
    )
    with CaptureQueriesContext(connection) as many:
        assert len(options_screened(case, facts)) == len(register) + 40
    assert len(many) == len(few)


def test_a_prior_cd19_car_t_line_and_an_infusion_count_as_prior_car_t(world):
    case = world.case_b
    assert patient_facts(case).prior_cd19_car_t is False
    profile_record_fact(
        case=case,
        kind="therapy_lines",
        actor=world.alice,
        regimen="Tisagenlecleucel",
        start=dt.date(2025, 1, 1),
        cd19_directed=True,
    )
    assert patient_facts(case).prior_cd19_car_t is True
    blina = world.case_a
    profile_record_fact(
        case=blina,
        kind="therapy_lines",
        actor=world.alice,
        regimen="Blinatumomab",
        start=dt.date(2025, 1, 1),
        cd19_directed=True,
    )
    assert patient_facts(blina).prior_cd19_car_t is False


def test_options_are_offered_after_not_eligible_a_declined_referral_or_a_relapse_after_car_t(world):
    case = world.case_b
    assert offer_reasons(case) == []
    profile_update(case=case, actor=world.alice, diagnosis_lineage="t_all", diagnosis_method="flow_cytometry")
    assessment_run(case=case, actor=world.alice)
    assert offer_reasons(case) == ["Pre-screen: Not eligible"]
    Referral.objects.create(
        case=case, hospital=world.ruijin, status=Referral.Status.DECLINED, decline_reason="CD19-negative"
    )
    TreatmentEvent.objects.create(
        case=case,
        kind=TreatmentEvent.Kind.INFUSION,
        occurred_on=dt.date(2026, 1, 10),
        status=TreatmentEvent.Status.DONE,
    )
    profile_record_fact(case=case, kind="relapses", actor=world.alice, date=dt.date(2026, 6, 1), site="marrow")
    assert offer_reasons(case)[1:] == ["Declined by Ruijin Hospital", "Relapse after CAR-T on 2026-06-01"]
    flagged = with_offer_flags(type(case).objects.filter(pk__in=[world.case_a.pk, case.pk])).order_by("pk")
    assert [(c.offer_prescreen, c.offer_declined, c.offer_relapse) for c in flagged] == [
        (False, False, False),
        (True, True, True),
    ]


def test_shortlisting_records_who_and_why_and_a_second_time_is_refused(world, register):
    option = register["Inotuzumab ozogamicin"]
    entry = shortlist_add(
        case=world.case_b, option=option, actor=world.bob, reason="CD19-negative relapse", screen={"result": "in"}
    )
    assert entry.created_by_label == world.bob.pseudonym
    event = AuditEvent.objects.get(object_type="options.ShortlistEntry", action="create")
    assert event.case_id == world.case_b.pk
    with pytest.raises(DomainError) as again:
        shortlist_add(case=world.case_b, option=option, actor=world.bob, reason="again")
    assert again.value.field == "option"
    with pytest.raises(DomainError) as no_reason:
        shortlist_add(case=world.case_b, option=register["Blinatumomab"], actor=world.bob, reason="  ")
    assert no_reason.value.field == "reason"
    with pytest.raises(DomainError):
        shortlist_add(case=world.case_b, option=register["Blinatumomab"], actor=world.chen, reason="please")
    shortlist_remove(entry=entry, actor=world.bob, reason="Centre prefers CAR-T")
    entry.refresh_from_db()
    assert entry.removed_reason == "Centre prefers CAR-T"
    # Removed, it can be shortlisted again; the old row stays.
    shortlist_add(case=world.case_b, option=option, actor=world.bob, reason="Back on the table")
    assert ShortlistEntry.objects.filter(case=world.case_b, option=option).count() == 2


def test_a_screening_request_is_a_referral_to_the_trial_team_that_shares_the_case(world, register):
    entry = shortlist_add(case=world.case_b, option=register["CD22 CAR-T (trial)"], actor=world.bob, reason="CD22+")
    referral = screening_request_send(entry=entry, actor=world.bob)
    assert referral.hospital.kind == Hospital.Kind.TRIAL_TEAM
    assert referral.status == Referral.Status.SENT and referral.response_due_at is not None
    assert referral.packets.count() == 1
    assert CaseShare.objects.active().filter(case=world.case_b, party_id=referral.hospital_id).exists()
    entry.refresh_from_db()
    assert entry.screening_referral == referral
    # Asking again links the same referral; nothing is sent twice.
    assert screening_request_send(entry=entry, actor=world.bob) == referral
    assert referral.packets.count() == 1


def test_a_screening_request_needs_a_trial_team(world, register):
    entry = shortlist_add(case=world.case_b, option=register["Blinatumomab"], actor=world.bob, reason="x")
    with pytest.raises(DomainError, match="no trial team"):
        screening_request_send(entry=entry, actor=world.bob)
    Option.objects.filter(pk=entry.option_id).update(trial_team=world.pkuph)
    entry.refresh_from_db()
    with pytest.raises(DomainError, match="treating centre"):
        screening_request_send(
            entry=entry.__class__.objects.select_related("option__trial_team").get(pk=entry.pk), actor=world.bob
        )
    assert not Referral.objects.filter(case=world.case_b).exists()


# --- the admin desk ----------------------------------------------------------------------------


def test_the_options_page_screens_shortlists_and_records_the_read(world, register, client):
    case = _cd19_negative_relapse(world)
    client.force_login(world.bob)
    url = f"/admin/options/caseoptions/{case.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert "never a decision" in body and "Targets CD19 only; the most recent CD19 result is negative." in body
    assert "Exclusion: active CNS disease (CNS3)" in body  # the free-text criteria beside the result
    assert AuditEvent.objects.filter(actor=world.bob, action="view", case_id=case.pk).exists()
    option = register["CD22 CAR-T (trial)"]
    response = client.post(url, {"action": "shortlist", "option": option.pk, "reason": "CD19-negative, CD22 trial"})
    assert response.status_code == 302
    entry = ShortlistEntry.objects.get(case=case, option=option)
    assert entry.screen["result"] == "in" and len(entry.screen["reasons"]) == 7
    client.post(url, {"action": "share", "entry": entry.pk})
    entry.refresh_from_db()
    assert entry.shared_with_family
    client.post(url, {"action": "screening", "entry": entry.pk})
    entry.refresh_from_db()
    assert entry.screening_referral.hospital.code == "cd22-trial"
    # A missing reason is a message, not a 500, and writes nothing.
    response = client.post(
        url, {"action": "shortlist", "option": register["Blinatumomab"].pk, "reason": ""}, follow=True
    )
    assert "Say why this option is shortlisted." in response.content.decode()
    assert ShortlistEntry.objects.filter(case=case).count() == 1


def test_the_cases_list_filters_by_why_options_are_offered_in_constant_queries(world, register, client):
    profile_update(case=world.case_b, actor=world.alice, diagnosis_lineage="t_all", diagnosis_method="flow_cytometry")
    assessment_run(case=world.case_b, actor=world.alice)
    client.force_login(world.alice)
    page = client.get("/admin/options/caseoptions/?offer=any")
    assert page.status_code == 200
    listed = list(page.context["cl"].result_list)
    assert listed == [world.case_b]
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/options/caseoptions/")
    from cases.factories import CaseFactory

    CaseFactory.create_batch(15)
    with CaptureQueriesContext(connection) as many:
        client.get("/admin/options/caseoptions/")
    assert len(many) == len(few)


def test_a_family_cannot_open_the_options_desk(world, client):
    client.force_login(world.chen)
    assert client.get(f"/admin/options/caseoptions/{world.case_b.pk}/change/").status_code == 302


# --- the family's page ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "The doctors decide, nothing is guaranteed."),
        ("zh-hans", "由医生决定，任何结果都无法保证。"),
        ("ar", "الأطباء هم من يقرّرون، ولا شيء مضمون."),
        ("ru", "Решают врачи, ничего не гарантировано."),
    ],
)
def test_the_family_sees_shared_options_in_plain_words_in_their_language(world, register, client, language, words):
    case = world.case_b
    shared = shortlist_add(case=case, option=register["CD22 CAR-T (trial)"], actor=world.bob, reason="CD22")
    shortlist_share(entry=shared, actor=world.bob)
    shortlist_add(case=case, option=register["Blinatumomab"], actor=world.bob, reason="not shared yet")
    world.chen.preferred_language = language
    world.chen.save(update_fields=["preferred_language"])
    client.force_login(world.chen)
    page = client.get(f"/portal/cases/{case.pk}/options/", HTTP_ACCEPT_LANGUAGE=language)
    assert page.status_code == 200
    body = page.content.decode()
    assert words in body
    assert "CD22 CAR-T (trial)" in body and "Blinatumomab" not in body
    assert "not shared yet" not in body and "CD22\n" not in body  # the coordinator's reasons stay internal
    assert AuditEvent.objects.filter(actor=world.chen, case_id=case.pk, detail__page="options").exists()


def test_another_family_gets_404_for_the_options_page(world, register, client):
    shortlist_share(
        entry=shortlist_add(case=world.case_a, option=register["Blinatumomab"], actor=world.alice, reason="x"),
        actor=world.alice,
    )
    client.force_login(world.chen)
    assert client.get(f"/portal/cases/{world.case_a.pk}/options/").status_code == 404
    assert not ShortlistEntry.objects.visible_to(world.chen).exists()
    assert not ShortlistEntry.objects.visible_to(world.dr_li).exists()


def test_every_family_string_has_its_translation_in_chinese_arabic_and_russian():
    """The plain sentences come from this app's catalog (the page's own strings are the portal's)."""
    from pathlib import Path

    import polib
    from django.utils import translation

    from options.family import explain

    locale = Path(__file__).resolve().parents[1] / "locale"
    msgids = {e.msgid for e in polib.pofile(str(locale / "ru" / "LC_MESSAGES" / "django.po"))}
    assert len(msgids) >= 12
    for language in ("zh-hans", "ar", "ru"):
        with translation.override(language):
            untranslated = sorted(m for m in msgids if translation.gettext(m) == m)
            assert not untranslated, (language, untranslated)
            option = Option(
                short_name="x",
                kind="car_t",
                is_trial=True,
                target_antigens=["CD22"],
                status="RECRUITING",
                countries=["CN"],
            )
            sentences = explain(option).sentences
            assert all(not s.isascii() for s in sentences), sentences
    with translation.override("ru"):
        assert "CD22" in explain(option).sentences[2] and "маркер" in explain(option).sentences[2]


def test_a_trial_team_sees_the_case_it_was_asked_to_screen_and_nothing_else(world):
    from rest_framework.test import APIClient

    from cases.models import Case
    from navigator.tests.test_idor import trial_team_staff

    dr_trial = trial_team_staff(world)
    assert list(Case.objects.visible_to(dr_trial)) == [world.case_b]
    assert not ShortlistEntry.objects.visible_to(dr_trial).exists()  # the coordinator's reasons stay internal
    api = APIClient()
    api.force_authenticate(dr_trial)
    response = api.get("/api/v1/referrals/")
    assert response.status_code == 200
    referral = Referral.objects.get(hospital=dr_trial.hospital)
    assert [r["id"] for r in response.json()["results"]] == [referral.pk]
    assert api.get(f"/api/v1/referrals/{world.referral_a.pk}/").status_code == 404


def test_the_case_page_leads_to_the_cases_options(world, client):
    client.force_login(world.alice)
    page = client.get(f"/admin/cases/case/{world.case_a.pk}/section/eligibility/").content.decode()
    assert "Other treatments and trials" in page
    assert f'href="/admin/options/caseoptions/{world.case_a.pk}/change/"' in page
    assert client.get(f"/admin/options/caseoptions/{world.case_a.pk}/change/").status_code == 200
