"""A referred case with documents, a translation and a clinical profile, and API keys."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from pypdf import PdfWriter
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _hospital_settings(settings, tmp_path):
    settings.DOCUMENT_UPLOAD_DIR = str(tmp_path / "uploads")
    settings.WEBHOOKS_ALLOW_INSECURE_LOCALHOST = True
    settings.CELERY_TASK_ALWAYS_EAGER = False


@pytest.fixture
def world(db):
    """The shared world. A transactional test (the Celery worker one) flushes every table,
    seeded rows included, and with --reuse-db the next run would start without the default
    indication: put it back first."""
    from cases.models import Indication
    from navigator.testing import make_world

    Indication.objects.get_or_create(
        code="b-all-cd19-car-t", defaults={"name": "Relapsed/refractory B-cell ALL: CD19 CAR-T"}
    )
    return make_world()


def pdf_bytes(text: str) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def add_document(
    case, actor, doc_type, text, *, include=True, translation_of=None, language="ru", days_ago=10, accept=True
):
    """A document as a coordinator would have it: accepted (only accepted records go into packets)
    unless ``accept`` is False."""
    from documents.services import document_accept, document_create

    document = document_create(
        case=case,
        file=io.BytesIO(pdf_bytes(text)),
        filename=f"{text}.pdf",
        doc_type=doc_type,
        actor=actor,
        clinical_date=timezone.localdate() - dt.timedelta(days=days_ago),
        language=language,
        title=text,
        translation_of=translation_of,
        include_in_packets=include,
        via="admin",
    )
    if accept:
        document = document_accept(document=document, actor=actor, include_in_packets=include)
    return document


def record_profile(case, actor):
    from eligibility.services import profile_record_fact, profile_update

    today = timezone.localdate()
    profile_update(
        case=case,
        actor=actor,
        diagnosis_lineage="b_all",
        diagnosis_method="flow_cytometry",
        diagnosis_date=today - dt.timedelta(days=700),
        philadelphia_status="positive",
        philadelphia_date=today - dt.timedelta(days=690),
        current_tki="ponatinib",
        prior_transplant=True,
    )
    profile_record_fact(
        case=case,
        kind="cd19_results",
        actor=actor,
        status="positive",
        sample_type="bone_marrow",
        sample_date=today - dt.timedelta(days=12),
        method="flow_cytometry",
    )
    profile_record_fact(
        case=case,
        kind="therapy_lines",
        actor=actor,
        regimen="Hyper-CVAD + ponatinib",
        start=today - dt.timedelta(days=680),
        end=today - dt.timedelta(days=500),
        best_response="CR MRD-negative",
        cd19_directed=False,
    )
    profile_record_fact(
        case=case,
        kind="therapy_lines",
        actor=actor,
        regimen="Blinatumomab",
        start=today - dt.timedelta(days=300),
        end=today - dt.timedelta(days=250),
        best_response="CR MRD-positive",
        cd19_directed=True,
    )
    profile_record_fact(
        case=case,
        kind="relapses",
        actor=actor,
        date=today - dt.timedelta(days=40),
        site="marrow",
    )
    profile_record_fact(
        case=case,
        kind="transplants",
        actor=actor,
        date=today - dt.timedelta(days=200),
        donor_type="haploidentical",
        on_immunosuppression=False,
        active_gvhd=False,
    )
    profile_record_fact(
        case=case, kind="cns_assessments", actor=actor, status="cns1", date=today - dt.timedelta(days=14)
    )


def move_case_to(case, status, actor):
    from cases import workflow
    from cases.services import case_transition

    path = workflow.MAIN_PATH
    case.refresh_from_db()
    while case.status != status and path.index(case.status) < path.index(status):
        case_transition(case=case, to_status=path[path.index(case.status) + 1], actor=actor)
        case.refresh_from_db()


@pytest.fixture
def packet_world(world, django_capture_on_commit_callbacks):
    """case_a referred (draft) to PKUPH, with documents, a translation and a clinical profile."""
    from hospitals.models import Referral

    w = world
    Referral.objects.filter(pk=w.referral_a.pk).delete()
    with django_capture_on_commit_callbacks(execute=False):
        record_profile(w.case_a, w.alice)
    w.cd19 = add_document(w.case_a, w.alice, "cd19_flow", "cd19-flow-report")
    w.pathology = add_document(w.case_a, w.alice, "diagnosis_pathology", "pathology")
    w.pathology_en = add_document(
        w.case_a, w.alice, "diagnosis_pathology", "pathology-en", translation_of=w.pathology, language="en"
    )
    w.private = add_document(w.case_a, w.alice, "passport_id", "passport", include=False)
    from hospitals.services.referrals import referral_create

    w.referral = referral_create(case=w.case_a, hospital=w.pkuph, actor=w.alice, cover_note="Urgent: relapsed")
    return w


def api(user=None, token=None) -> APIClient:
    client = APIClient()
    if token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    elif user:
        client.force_authenticate(user)
    return client


@pytest.fixture
def pkuph_key(world):
    from hospitals.services.credentials import credential_issue

    _cred, token = credential_issue(hospital=world.pkuph, actor=world.alice, label="PKUPH inbox")
    return token


@pytest.fixture
def ruijin_key(world):
    from hospitals.services.credentials import credential_issue

    _cred, token = credential_issue(hospital=world.ruijin, actor=world.alice, label="Ruijin inbox")
    return token
