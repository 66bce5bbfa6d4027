"""The eligibility API, per role: who may read and change what, errors, audit, query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from cases.factories import CaseFactory
from eligibility import rules
from eligibility.models import Assessment, Cd19Result, FamilySummary
from eligibility.services import assessment_run, family_summary_publish, profile_record_fact

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def client_for(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def ago(days: int) -> str:
    return (TODAY - dt.timedelta(days=days)).isoformat()


def test_a_coordinator_records_a_cd19_result_from_a_flow_report_and_the_prescreen_follows(
    world, make_document, django_capture_on_commit_callbacks
):
    report = make_document()
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for(world.alice).post(
            "/api/v1/clinical-facts/cd19-results/",
            {
                "case": world.case_a.pk,
                "status": "positive",
                "sample_type": "bone_marrow",
                "sample_date": ago(5),
                "method": "flow_cytometry",
                "source_document": report.pk,
            },
        )
    assert r.status_code == 201, r.json()
    assert r.json()["source_document"] == report.pk
    profile = client_for(world.alice).get(f"/api/v1/clinical-profiles/{world.case_a.pk}/").json()
    assert profile["cd19_results"][0]["sample_date"] == ago(5)
    runs = client_for(world.alice).get(f"/api/v1/eligibility-assessments/?case={world.case_a.pk}").json()["results"]
    assert runs[0]["criteria"][1] == {
        "criterion": "cd19",
        "outcome": "met",
        "explanation": runs[0]["criteria"][1]["explanation"],
        "override": None,
        # The deciding fact and the document that proves it.
        "code": "met",
        "facts": [{"kind": "cd19_results", "id": r.json()["id"], "date": ago(5), "source_document": report.pk}],
        "kind": "",  # met: neither a blocker nor missing
        "meaning": "",
    }


@pytest.mark.parametrize(
    "payload, field",
    [
        (
            {
                "status": "positive",
                "sample_type": "bone_marrow",
                "sample_date": (TODAY + dt.timedelta(days=3)).isoformat(),
            },
            "sample_date",
        ),
        ({"status": "purple", "sample_type": "bone_marrow", "sample_date": ago(3)}, "status"),
        ({"status": "positive", "sample_type": "bone_marrow"}, "sample_date"),
    ],
)
def test_bad_facts_get_a_400_naming_the_field_and_nothing_is_saved(world, payload, field):
    r = client_for(world.alice).post("/api/v1/clinical-facts/cd19-results/", {"case": world.case_a.pk, **payload})
    assert r.status_code == 400
    assert field in r.json()["fields"], r.json()
    assert not Cd19Result.objects.exists()


def test_cns3_and_cns1_on_the_same_date_are_refused(world):
    c = client_for(world.alice)
    assert (
        c.post(
            "/api/v1/clinical-facts/cns-assessments/", {"case": world.case_a.pk, "status": "cns3", "date": ago(2)}
        ).status_code
        == 201
    )
    r = c.post("/api/v1/clinical-facts/cns-assessments/", {"case": world.case_a.pk, "status": "cns1", "date": ago(2)})
    assert r.status_code == 400 and "CNS1" in r.json()["fields"]["status"][0]


def test_a_negative_line_count_and_a_transplant_before_diagnosis_are_refused(world):
    c = client_for(world.alice)
    r = c.patch(f"/api/v1/clinical-profiles/{world.case_a.pk}/", {"reported_prior_lines": -2})
    assert r.status_code == 400 and "reported_prior_lines" in r.json()["fields"]
    assert c.patch(f"/api/v1/clinical-profiles/{world.case_a.pk}/", {"diagnosis_date": ago(300)}).status_code == 200
    r = c.post(
        "/api/v1/clinical-facts/transplants/",
        {"case": world.case_a.pk, "date": ago(400), "donor_type": "haploidentical"},
    )
    assert r.status_code == 400 and "before the diagnosis" in r.json()["fields"]["date"][0]


def test_a_family_cannot_see_the_profile_or_assessments_of_even_its_own_case(world):
    assessment_run(case=world.case_a, actor=world.alice)
    c = client_for(world.ivanova)
    assert c.get(f"/api/v1/clinical-profiles/{world.case_a.pk}/").status_code == 404
    assert c.get("/api/v1/eligibility-assessments/").json()["results"] == []
    assert c.post("/api/v1/clinical-facts/relapses/", {"case": world.case_a.pk, "date": ago(3)}).status_code == 403


def test_a_family_reads_only_the_published_summary_of_its_own_case(world):
    [a] = assessment_run(case=world.case_a, actor=world.alice)
    [b] = assessment_run(case=world.case_b, actor=world.bob)
    mine = family_summary_publish(assessment=a, language="en", actor=world.alice)
    family_summary_publish(assessment=b, language="zh-hans", actor=world.bob)
    FamilySummary.objects.create(case=world.case_a, assessment=a, language="ru", text="draft, unpublished")
    c = client_for(world.ivanova)
    rows = c.get("/api/v1/family-summaries/").json()["results"]
    assert [r["id"] for r in rows] == [mine.pk]
    assert "treating haematologist" in rows[0]["text"]
    other = FamilySummary.objects.get(case=world.case_b)
    assert c.get(f"/api/v1/family-summaries/{other.pk}/").status_code == 404
    assert c.post("/api/v1/family-summaries/", {"assessment": a.pk, "language": "en"}).status_code == 403


def test_a_coordinator_previews_and_publishes_the_summary_on_purpose(world):
    [a] = assessment_run(case=world.case_a, actor=world.alice)
    c = client_for(world.alice)
    preview = c.get(f"/api/v1/family-summaries/preview/?assessment={a.pk}&language=zh-hans").json()
    assert "主治血液科医生" in preview["text"]
    assert not FamilySummary.objects.exists()
    r = c.post("/api/v1/family-summaries/", {"assessment": a.pk, "language": "zh-hans"})
    assert r.status_code == 201 and r.json()["published_by"] == "alice"
    r = c.post("/api/v1/family-summaries/", {"assessment": a.pk, "language": "xx"})
    assert r.status_code == 400 and "language" in r.json()["fields"]


def test_hospitals_read_assessments_of_shared_cases_only_their_own_centre_and_base(world):
    world.case_a.target_centres.set([world.pkuph, world.ruijin])
    assessment_run(case=world.case_a, actor=world.alice)
    assessment_run(case=world.case_b, actor=world.bob)
    rows = client_for(world.dr_li).get("/api/v1/eligibility-assessments/").json()["results"]
    assert {(r["case"], r["centre"]) for r in rows} == {(world.case_a.pk, None), (world.case_a.pk, world.pkuph.pk)}
    assert client_for(world.dr_wang).get("/api/v1/eligibility-assessments/").json()["results"] == []
    b = Assessment.objects.get(case=world.case_b)
    assert client_for(world.dr_li).get(f"/api/v1/eligibility-assessments/{b.pk}/").status_code == 404
    assert (
        client_for(world.dr_li).post("/api/v1/eligibility-assessments/run/", {"case": world.case_a.pk}).status_code
        == 403
    )
    assert client_for(world.dr_li).get(f"/api/v1/clinical-profiles/{world.case_a.pk}/").status_code == 200
    assert client_for(world.dr_wang).get(f"/api/v1/clinical-profiles/{world.case_a.pk}/").status_code == 404


def test_reads_of_assessments_are_audited(world):
    [a] = assessment_run(case=world.case_a, actor=world.alice)
    client_for(world.dr_li).get(f"/api/v1/eligibility-assessments/{a.pk}/")
    assert AuditEvent.objects.filter(
        actor=world.dr_li, action="view", object_type="eligibility.Assessment", object_id=str(a.pk)
    ).exists()


def test_override_through_the_api_recomputes_and_shows_it(world):
    profile_record_fact(case=world.case_a, kind="cns_assessments", actor=world.alice, status="cns2", date=TODAY)
    [a] = assessment_run(case=world.case_a, actor=world.alice)
    c = client_for(world.alice)
    r = c.post(
        f"/api/v1/eligibility-assessments/{a.pk}/override/", {"criterion": "cns", "outcome": "met", "reason": "short"}
    )
    assert r.status_code == 400 and "reason" in r.json()["fields"]
    r = c.post(
        f"/api/v1/eligibility-assessments/{a.pk}/override/",
        {"criterion": "cns", "outcome": "met", "reason": "Centre accepts CNS2 with IT"},
    )
    assert r.status_code == 201
    cns = next(x for x in r.json()["criteria"] if x["criterion"] == "cns")
    assert cns["override"]["from"] == rules.NEEDS_REVIEW and cns["outcome"] == rules.MET
    r = c.post(
        f"/api/v1/eligibility-assessments/{a.pk}/override/",
        {"criterion": "cns", "outcome": "met", "reason": "Centre accepts CNS2 with IT"},
    )
    assert r.status_code == 409
    diff = c.get(
        f"/api/v1/eligibility-assessments/{r.json() and Assessment.objects.latest('id').pk}/diff/?against={a.pk}"
    ).json()
    assert diff["criteria"][0]["criterion"] == "cns"


def test_the_assessment_list_costs_the_same_queries_at_n_and_10n_rows(world):
    c = client_for(world.alice)

    def fill(n):
        for _ in range(n):
            case = CaseFactory(patient=world.patient_a)
            case.target_centres.set([world.pkuph])
            assessment_run(case=case, actor=world.alice)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/api/v1/eligibility-assessments/?page_size=200").status_code == 200
        return len(ctx)

    fill(2)
    small = count()
    fill(20)
    assert count() == small


def test_the_profile_list_costs_the_same_queries_at_n_and_10n_rows(world):
    c = client_for(world.alice)

    def fill(n):
        for _ in range(n):
            case = CaseFactory(patient=world.patient_a)
            profile_record_fact(case=case, kind="relapses", actor=world.alice, date=TODAY)

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/api/v1/clinical-profiles/?page_size=200").status_code == 200
        return len(ctx)

    fill(2)
    small = count()
    fill(20)
    assert count() == small
