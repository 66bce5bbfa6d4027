"""Weight and height, infection screening and lymphocyte counts: recorded with their source
document and audited like every fact, refused with a field message when they make no sense,
hidden from families, in the admin's profile page, and outside the pre-screen's input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEvent
from eligibility.models import Assessment, BodyMeasurement, LymphocyteCount, SerologyResult
from eligibility.services import assessment_run, profile_for, profile_record_fact

from .test_admin import inline_management, profile_post

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()


def ago(days: int) -> dt.date:
    return TODAY - dt.timedelta(days=days)


def client_for(user) -> APIClient:
    c = APIClient()
    c.force_authenticate(user)
    return c


def test_each_new_fact_is_recorded_with_its_source_document_and_audited(world, make_document):
    report = make_document()
    body = profile_record_fact(
        case=world.case_a, kind="body_measurements", actor=world.alice, date=ago(3), weight_kg="31.5", height_cm="134"
    )
    hbv = profile_record_fact(
        case=world.case_a,
        kind="serology",
        actor=world.alice,
        test="hbv_dna",
        result="positive",
        viral_load="1200",
        viral_load_unit="[iU]/mL",
        date=ago(10),
        source_document=report,
    )
    counts = profile_record_fact(
        case=world.case_a,
        kind="lymphocyte_counts",
        actor=world.alice,
        date=ago(2),
        absolute_lymphocytes="0.85",
        cd3_per_ul=410,
    )
    assert BodyMeasurement.objects.get().weight_kg == body.weight_kg
    assert SerologyResult.objects.get().source_document == report
    assert LymphocyteCount.objects.get().cd3_per_ul == 410
    for fact, kind in ((body, "body_measurements"), (hbv, "serology"), (counts, "lymphocyte_counts")):
        event = AuditEvent.objects.get(object_type=f"eligibility.{type(fact).__name__}", action="create")
        assert event.detail["kind"] == kind
    assert AuditEvent.objects.get(object_type="eligibility.SerologyResult").detail["source_document"] == report.pk


@pytest.mark.parametrize(
    ("kind", "values", "field", "message"),
    [
        (
            "serology",
            {"test": "hbsag", "result": "negative", "viral_load": "10", "viral_load_unit": "[iU]/mL"},
            "viral_load",
            "Only HBV DNA, HCV RNA and EBV DNA",
        ),
        (
            "serology",
            {"test": "hcv_rna", "result": "positive", "viral_load": "5000"},
            "viral_load_unit",
            "Choose the unit",
        ),
        ("serology", {"test": "anti_hcv", "result": "reactive"}, "result", "not a valid choice"),
        ("body_measurements", {"weight_kg": "0"}, "weight_kg", "kilograms"),
        ("body_measurements", {"height_cm": "1800"}, "height_cm", ""),
        ("body_measurements", {}, "__all__", "weight (kg), the height (cm) or both"),
        ("lymphocyte_counts", {}, "__all__", "absolute lymphocyte count, the CD3+ count or both"),
        ("lymphocyte_counts", {"cd3_per_ul": -4}, "cd3_per_ul", ""),
    ],
)
def test_a_fact_that_makes_no_sense_is_refused_with_the_field_and_nothing_is_saved(world, kind, values, field, message):
    with pytest.raises(ValidationError) as exc:
        profile_record_fact(case=world.case_a, kind=kind, actor=world.alice, date=ago(1), **values)
    errors = exc.value.message_dict
    assert field in errors, errors
    assert message in " ".join(errors[field])
    assert not (BodyMeasurement.objects.exists() or SerologyResult.objects.exists() or LymphocyteCount.objects.exists())


def test_recording_them_reruns_nothing_the_prescreen_does_not_read(world, django_capture_on_commit_callbacks):
    [before] = assessment_run(case=world.case_a, actor=world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        profile_record_fact(
            case=world.case_a, kind="serology", actor=world.alice, test="hbsag", result="negative", date=ago(5)
        )
        profile_record_fact(case=world.case_a, kind="body_measurements", actor=world.alice, weight_kg="30", date=ago(5))
    assert Assessment.objects.filter(case=world.case_a, centre=None).latest("id") == before
    # ... while a fact the rules read does store a new one.
    with django_capture_on_commit_callbacks(execute=True):
        profile_record_fact(case=world.case_a, kind="cns_assessments", actor=world.alice, status="cns1", date=ago(5))
    assert Assessment.objects.filter(case=world.case_a, centre=None).latest("id") != before


def test_the_api_records_a_serology_result_and_a_family_sees_none(world):
    r = client_for(world.alice).post(
        "/api/v1/clinical-facts/serology/",
        {"case": world.case_a.pk, "test": "cmv_igg", "result": "positive", "date": ago(7).isoformat()},
    )
    assert r.status_code == 201, r.json()
    profile = client_for(world.alice).get(f"/api/v1/clinical-profiles/{world.case_a.pk}/").json()
    assert [(s["test"], s["result"]) for s in profile["serology"]] == [("cmv_igg", "positive")]
    assert profile["body_measurements"] == [] and profile["lymphocyte_counts"] == []
    bad = client_for(world.alice).post(
        "/api/v1/clinical-facts/serology/",
        {"case": world.case_a.pk, "test": "anti_hbc", "result": "negative", "viral_load": "3", "date": ago(7)},
    )
    assert bad.status_code == 400 and "viral_load" in bad.json()["fields"]
    family = client_for(world.ivanova)
    assert family.get("/api/v1/clinical-facts/serology/").json()["results"] == []
    assert family.get(f"/api/v1/clinical-facts/serology/{r.json()['id']}/").status_code == 404
    created = family.post(
        "/api/v1/clinical-facts/lymphocyte-counts/", {"case": world.case_a.pk, "date": ago(1), "cd3_per_ul": 300}
    )
    assert created.status_code == 403 and not LymphocyteCount.objects.exists()


def test_the_admin_profile_page_records_them_in_its_inlines(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.alice)
    profile = profile_for(world.case_a)
    page = client.get(f"/admin/eligibility/clinicalprofile/{profile.pk}/change/").content.decode()
    for prefix in ("bodymeasurement_set", "serologyresult_set", "lymphocytecount_set"):
        assert f"{prefix}-TOTAL_FORMS" in page
    data = profile_post(
        profile,
        **inline_management("bodymeasurement_set", total=1),
        **inline_management("serologyresult_set", total=1),
        **{
            "bodymeasurement_set-0-date": ago(2).isoformat(),
            "bodymeasurement_set-0-weight_kg": "28.4",
            "bodymeasurement_set-0-height_cm": "131.0",
            "serologyresult_set-0-test": "hiv_ag_ab",
            "serologyresult_set-0-result": "negative",
            "serologyresult_set-0-date": ago(9).isoformat(),
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        r = client.post(f"/admin/eligibility/clinicalprofile/{profile.pk}/change/", data)
    assert r.status_code == 302, r.content.decode()[:3000]
    assert str(BodyMeasurement.objects.get(profile=profile).height_cm) == "131.0"
    assert SerologyResult.objects.get(profile=profile).test == "hiv_ag_ab"
    refused = profile_post(
        profile,
        **inline_management("lymphocytecount_set", total=1),
        **{"lymphocytecount_set-0-date": ago(1).isoformat()},
    )
    r = client.post(f"/admin/eligibility/clinicalprofile/{profile.pk}/change/", refused)
    assert r.status_code == 200 and "the CD3+ count or both" in r.content.decode()
    assert not LymphocyteCount.objects.exists()
