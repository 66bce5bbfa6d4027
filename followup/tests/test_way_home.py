"""The way home: the follow-up plan (a table), the handback (immutable, versioned, its Bundle valid
for the FHIR models and the document checks, its PDF bilingual), the home haematologist's link
(what it shows, refused when revoked or expired, all recorded), results feeding the milestones,
and the overdue list."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from pypdf import PdfReader

from audit.models import AuditEvent
from eligibility.models import Relapse
from followup.handback import bundle_problems
from followup.models import AccessLink, FollowUpResult, Handback, LinkUse
from followup.plan import add_months, follow_up_plan, igg_needs_replacement
from followup.selectors import overdue_followups
from followup.services import handback_create, link_issue, link_revoke, result_post
from navigator.errors import DomainError
from options.selectors import offer_reasons
from scheduling.models import CoordinatorTask, Milestone

from .conftest import discharge

DAY0 = dt.date(2026, 1, 31)


# --- the plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "month", "check"),
    [
        ({}, 1, "IgG (immunoglobulin replacement if below 4 g/L)"),  # guide: hypogammaglobulinaemia after ALL CAR-T
        ({}, 1, "B-cell aplasia / CAR-T persistence (CD19+ B cells)"),  # pathway.md step 9
        ({}, 2, "Blood counts"),  # EBMT/JACIE: monthly counts first months
        ({}, 3, "MRD (bone marrow)"),  # the centre's protocol, default 3, 6, 9, 12
        ({"mrd_months": (2, 4)}, 4, "MRD (bone marrow)"),
        ({}, 6, "Vaccination review: only after B-cell recovery and off immunoglobulin replacement"),
        ({"transplant_planned": True}, 3, "Transplant work-up with the transplant centre (within 3-4 months of CAR-T)"),
        ({"ph_positive": True}, 1, "TKI maintenance: adherence, BCR::ABL1 transcript"),  # guide: Ph+ TKI maintenance
        ({}, 60, "Yearly review: counts, IgG, relapse, late effects"),
    ],
)
def test_the_plan_has_each_visit_and_check_its_source_asks_for(options, month, check):
    visits = {v.key: v for v in follow_up_plan(infusion=DAY0, **options)}
    visit = visits[f"followup:m{month}"]
    assert check in visit.checks
    assert visit.due == add_months(DAY0, month)
    assert visit.source


def test_the_plan_leaves_out_what_was_not_decided():
    checks = [c for v in follow_up_plan(infusion=DAY0) for c in v.checks]
    assert not any("TKI" in c or "Transplant" in c for c in checks)
    assert add_months(DAY0, 1) == dt.date(2026, 2, 28)  # the 31st of a short month


def test_igg_below_4_g_per_l_asks_for_replacement():
    assert igg_needs_replacement(Decimal("3.9")) and not igg_needs_replacement(Decimal("4.0"))
    assert not igg_needs_replacement(None)


# --- the handback --------------------------------------------------------------------------------


def test_a_handback_holds_what_the_home_haematologist_needs_and_validates_as_a_fhir_document(treated, world):
    from fhir.resources.R4B.bundle import Bundle

    handback, created = handback_create(case=treated, actor=world.alice, discharge=discharge())
    assert created and handback.version == 1
    content = handback.content
    assert content["product"] == "CD19 CAR-T (synthetic)" and content["dose"].startswith("1.0 x 10^6")
    assert content["infusion_date"] == (timezone.localdate() - dt.timedelta(days=45)).isoformat()
    assert content["lymphodepletion"]
    assert content["crs"][0]["grade"] == 2 and content["icans"][0]["grade"] == 1
    assert [m["result"] for m in content["mrd"]] == ["negative"]
    assert content["tki"] == "ponatinib 30 mg daily"
    assert content["transplant"]["decision"] == "Transplant planned"
    assert content["centre"]["contacts"][0]["email"] == "intl@pkuph.example"
    assert any("TKI maintenance" in c for v in content["schedule"] for c in v["checks"])
    assert any("fever above 38" in w for w in content["watch_for"])

    Bundle.model_validate(handback.bundle)  # structure and datatypes
    assert bundle_problems(handback.bundle) == []
    types = [e["resource"]["resourceType"] for e in handback.bundle["entry"]]
    assert types[0] == "Composition"
    assert {"Patient", "Organization", "Procedure", "Observation", "MedicationStatement", "CarePlan"} <= set(types)
    composition = handback.bundle["entry"][0]["resource"]
    assert composition["type"]["coding"][0]["code"] == "18842-5"  # LOINC discharge summary
    grades = [
        e["resource"]["valueInteger"]
        for e in handback.bundle["entry"]
        if e["resource"]["resourceType"] == "Observation" and "valueInteger" in e["resource"]
    ]
    assert sorted(grades) == [1, 2]


def test_the_pdf_is_in_english_and_the_second_language(treated, world):
    handback, _ = handback_create(case=treated, actor=world.alice, discharge=discharge())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(bytes(handback.pdf))).pages)
    assert "Handback to the home haematologist" in text and "What to watch for" in text
    assert "交回当地血液科医生" in text  # Dr Tan reads Chinese
    assert "CD19 CAR-T (synthetic)" in text


def test_a_handback_is_immutable_and_a_change_is_a_new_version(treated, world):
    first, _ = handback_create(case=treated, actor=world.alice, discharge=discharge())
    again, created = handback_create(case=treated, actor=world.alice, discharge=discharge())
    assert again == first and not created
    second, created = handback_create(
        case=treated, actor=world.alice, discharge=discharge(response="CR, MRD-negative at day 60")
    )
    assert created and second.version == 2 and first.content["response"] == "CR, MRD-negative at day 28"
    with pytest.raises(ValueError):
        first.save()
    with pytest.raises(ValueError):
        first.delete()
    assert Handback.objects.filter(case=treated).count() == 2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"product": " "}, "product"),
        ({"response": ""}, "response"),
        ({"crs": [{"grade": 5, "onset": dt.date(2026, 1, 1)}]}, "crs"),
        ({"icans": [{"grade": 1, "onset": dt.date(2026, 2, 2), "resolved": dt.date(2026, 2, 1)}]}, "icans"),
    ],
)
def test_a_bad_discharge_is_refused_naming_the_field_and_nothing_is_written(treated, world, changes, field):
    with pytest.raises(DomainError) as refused:
        handback_create(case=treated, actor=world.alice, discharge=discharge(**changes))
    assert refused.value.field == field
    assert not Handback.objects.exists()


def test_no_handback_before_the_infusion_or_without_a_home_haematologist(world):
    with pytest.raises(DomainError) as refused:
        handback_create(case=world.case_a, actor=world.alice, discharge=discharge())
    assert refused.value.field == "home_haematologist"


def test_creating_the_handback_plans_the_follow_up_visits_for_the_family(treated, world):
    handback_create(case=treated, actor=world.alice, discharge=discharge())
    visits = Milestone.objects.filter(case=treated, key__startswith="followup:")
    assert visits.count() == len(
        handback_create(case=treated, actor=world.alice, discharge=discharge())[0].content["schedule"]
    )
    assert all(v.concerns_family for v in visits)
    # The month-1 visit (day ~30) is already past: it is overdue for the coordinator.
    overdue = list(overdue_followups(world.alice))
    assert [m.key for m in overdue] == ["followup:m1"]
    assert list(overdue_followups(world.chen)) == []  # a family sees no coordinator list
    assert list(overdue_followups(world.dr_wang)) == []


def test_the_overdue_list_costs_one_query_whatever_its_length(treated, world):
    handback_create(case=treated, actor=world.alice, discharge=discharge())
    with CaptureQueriesContext(connection) as queries:
        rows = [(m.case.reference, m.case.patient.given_name) for m in overdue_followups(world.alice)]
    assert rows and len(queries) == 1
    Milestone.objects.filter(case=treated, key__startswith="followup:").update(
        due_at=timezone.now() - dt.timedelta(days=1)
    )
    with CaptureQueriesContext(connection) as queries:
        rows = [(m.case.reference, m.case.patient.given_name) for m in overdue_followups(world.alice)]
    assert len(rows) > 5 and len(queries) == 1


# --- the home haematologist's link ------------------------------------------------------------------


@pytest.fixture
def handed_back(treated, world):
    handback, _ = handback_create(case=treated, actor=world.alice, discharge=discharge())
    link, token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice)
    return handback, link, token


def test_the_link_shows_the_handback_and_records_every_page(handed_back, client):
    handback, link, token = handed_back
    page = client.get(f"/home/{token}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "CD19 CAR-T (synthetic)" in body and "intl@pkuph.example" in body and "ponatinib" in body
    pdf = client.get(f"/home/{token}/handback.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    fhir = client.get(f"/home/{token}/handback.fhir.json")
    assert fhir.json()["type"] == "document"
    events = AuditEvent.objects.filter(
        actor_label=f"home-haematologist:{link.haematologist_id}", case_id=handback.case_id
    )
    assert sorted(events.values_list("action", flat=True)) == ["download", "download", "view"]
    assert LinkUse.objects.filter(link=link, outcome="allowed").count() == 3
    assert client.get("/home/not-a-token/").status_code == 404


def test_a_revoked_or_expired_link_is_refused_and_the_refusal_recorded(handed_back, world, client):
    _handback, link, token = handed_back
    link_revoke(link=link, actor=world.alice)
    refused = client.get(f"/home/{token}/")
    assert refused.status_code == 410 and "withdrew" in refused.content.decode()
    assert client.get(f"/home/{token}/handback.pdf").status_code == 410
    assert LinkUse.objects.filter(link=link, outcome="revoked").count() == 2
    assert (
        AuditEvent.objects.filter(action="login", object_type="followup.AccessLink", detail__refused="revoked").count()
        == 2
    )

    other, other_token = link_issue(haematologist=link.haematologist, actor=world.alice, days=1)
    AccessLink.objects.filter(pk=other.pk).update(
        created_at=timezone.now() - dt.timedelta(days=2), expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    expired = client.get(f"/home/{other_token}/")
    assert expired.status_code == 410 and "expired" in expired.content.decode()
    assert LinkUse.objects.filter(link=other, outcome="expired").exists()
    # Nothing was shown: no read of the handback was recorded.
    assert not AuditEvent.objects.filter(
        action__in=["view", "download"], actor_label__startswith="home-haematologist:"
    ).exists()


def test_a_link_reaches_its_own_case_only(handed_back, world, client):
    """IDOR for the home haematologist: the token is the only key; nothing names another case."""
    from followup.services import haematologist_save

    handback, link, token = handed_back
    contact_a = haematologist_save(
        case=world.case_a, actor=world.alice, name="Dr Petrov", email="p@home.example", language="ru"
    )
    _link_a, token_a = link_issue(haematologist=contact_a, actor=world.alice)
    page_a = client.get(f"/home/{token_a}/?lang=en").content.decode()
    assert "handback is not ready yet" in page_a and "CD19 CAR-T (synthetic)" not in page_a
    assert world.case_b.reference not in page_a
    page_b = client.get(f"/home/{token}/").content.decode()
    assert world.case_a.reference not in page_b and world.case_b.reference in page_b
    with pytest.raises(DomainError):
        result_post(
            case=world.case_a,
            actor="home-haematologist:x",
            link=link,
            kind="igg",
            date=timezone.localdate(),
            value=Decimal(5),
        )
    # No other party sees the way home's rows through the access layer.
    for party in (world.chen, world.ivanova, world.dr_li, world.dr_wang):
        assert not Handback.objects.visible_to(party).exists()
        assert not AccessLink.objects.visible_to(party).exists()


# --- results --------------------------------------------------------------------------------------


def test_a_posted_result_completes_its_visit_and_low_igg_opens_a_task(handed_back, world, client):
    _handback, link, token = handed_back
    m1 = Milestone.objects.get(case=link.case, key="followup:m1")
    sample = m1.due_at.date() + dt.timedelta(days=3)
    response = client.post(
        f"/home/{token}/", {"kind": "igg", "date": sample.isoformat(), "value": "3.2", "unit": "g/L"}
    )
    assert response.status_code == 302
    result = FollowUpResult.objects.get(case=link.case)
    assert result.link == link and result.reported_by_label == f"home-haematologist:{link.haematologist_id}"
    m1.refresh_from_db()
    assert m1.status == "done"
    task = CoordinatorTask.objects.get(case=link.case, key=f"followup:igg:{result.pk}")
    assert "immunoglobulin replacement" in task.title


def test_a_bad_result_is_a_form_error_and_writes_nothing(handed_back, client):
    _handback, _link, token = handed_back
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(f"/home/{token}/?lang=en", {"kind": "mrd", "date": tomorrow, "finding": "positive"})
    assert response.status_code == 400 and "cannot be in the future" in response.content.decode()
    # A finding that does not fit the kind of result (B-cell aplasia for an MRD result).
    response = client.post(f"/home/{token}/?lang=en", {"kind": "mrd", "date": "2026-01-01", "finding": "present"})
    assert response.status_code == 400 and "Choose one of: negative, positive." in response.content.decode()
    response = client.post(f"/home/{token}/?lang=en", {"kind": "mrd", "date": "2026-01-01", "finding": "maybe"})
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    assert not FollowUpResult.objects.exists()


def test_a_relapse_reported_at_home_reaches_the_profile_a_task_and_the_options(handed_back, world):
    _handback, link, _token = handed_back
    result_post(
        case=link.case,
        actor=f"home-haematologist:{link.haematologist_id}",
        link=link,
        kind="relapse",
        date=timezone.localdate(),
        finding="marrow",
        notes="Blasts 12% on the film",
    )
    assert Relapse.objects.filter(profile__case=link.case, site="marrow").exists()
    task = CoordinatorTask.objects.get(case=link.case, key__startswith="followup:relapse:")
    assert task.priority == CoordinatorTask.Priority.URGENT and "Dr Tan" in task.detail
    assert any(r.startswith("Relapse after CAR-T") for r in offer_reasons(link.case))


def test_mrd_positive_at_home_opens_an_urgent_task(handed_back, world):
    _handback, link, _token = handed_back
    result_post(case=link.case, actor=world.alice, kind="mrd", date=timezone.localdate(), finding="positive")
    assert (
        CoordinatorTask.objects.get(case=link.case, key__startswith="followup:mrd:").priority
        == CoordinatorTask.Priority.URGENT
    )


# --- the admin -------------------------------------------------------------------------------------


def test_the_coordinator_writes_the_handback_from_the_discharge_form(treated, world, client):
    client.force_login(world.alice)
    url = f"/admin/followup/handback/add/?case={treated.pk}"
    assert client.get(url).status_code == 200
    bad = client.post(
        url, {"product": "X", "dose": "1e6/kg", "response": "CR", "discharge_date": "2026-11-01", "crs_grade": "2"}
    )
    assert bad.status_code == 400 and "Give the onset date" in bad.content.decode()
    assert not Handback.objects.exists()
    good = client.post(
        url,
        {
            "product": "CD19 CAR-T",
            "dose": "1e6/kg",
            "response": "CR",
            "discharge_date": "2026-11-01",
            "crs_grade": "1",
            "crs_onset": (timezone.localdate() - dt.timedelta(days=44)).isoformat(),
            "medications": "Aciclovir | 400 mg bd\nPonatinib | 30 mg daily",
        },
    )
    assert good.status_code == 302
    handback = Handback.objects.get(case=treated)
    assert [m["name"] for m in handback.content["medications"]] == ["Aciclovir", "Ponatinib"]
    pdf = client.get(f"/admin/followup/handback/{handback.pk}/pdf/")
    assert pdf.status_code == 200
    assert AuditEvent.objects.filter(actor=world.alice, action="download", object_type="followup.Handback").exists()


def test_the_overdue_filter_lists_overdue_visits_in_constant_queries(treated, world, client):
    handback_create(case=treated, actor=world.alice, discharge=discharge())
    client.force_login(world.alice)
    page = client.get("/admin/followup/followupvisit/?due=overdue")
    assert page.status_code == 200
    assert [m.key for m in page.context["cl"].result_list] == ["followup:m1"]
    with CaptureQueriesContext(connection) as few:
        client.get("/admin/followup/followupvisit/")
    Milestone.objects.filter(case=treated, key__startswith="followup:").update(
        due_at=timezone.now() - dt.timedelta(days=1)
    )
    with CaptureQueriesContext(connection) as many:
        page = client.get("/admin/followup/followupvisit/?due=overdue")
    assert len(page.context["cl"].result_list) > 5
    assert len(many) == len(few)


def test_the_family_is_reminded_of_each_visit_in_their_language_and_zone(treated, world):
    from scheduling.models import Reminder

    handback_create(case=treated, actor=world.alice, discharge=discharge())
    month3 = Milestone.objects.get(case=treated, key="followup:m3")
    family = Reminder.objects.filter(milestone=month3, audience="family")
    assert family.exists()
    assert {(r.language, r.time_zone) for r in family} == {("zh-hans", "Asia/Singapore")}  # Chen Li's
