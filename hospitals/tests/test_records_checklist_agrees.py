"""One records checklist: the family's portal, the case page and the packet builder give the same answer
for the same case (documents.selectors.records_needed). Once, the portal said "3 needed" while the
packet builder said "Nothing missing from the centre's list": a centre with no list of its own."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from documents.selectors import records_needed
from hospitals.models import RequiredRecord
from hospitals.services.packets import packet_preview

from .conftest import add_document

pytestmark = pytest.mark.django_db


def _needed_on(html: str) -> int:
    found = re.search(r"(\d+) needed", html)
    assert found, "no count of needed records on the page"
    return int(found.group(1))


@pytest.fixture
def checklist_case(packet_world):
    """case_a: CD19, pathology (with translation) and passport accepted; a bone-marrow report waiting
    for review; nothing else. The centre (PKUPH) has no list of its own."""
    w = packet_world
    w.marrow = add_document(w.case_a, w.alice, "bone_marrow", "marrow", accept=False)
    assert not RequiredRecord.objects.filter(hospital=w.pkuph).exists()
    return w


def test_portal_case_page_and_packet_builder_agree_on_what_is_needed(checklist_case):
    w = checklist_case
    checklist = records_needed(w.case_a)
    # diagnosis, CD19 and passport accepted; bone marrow in review; MRD, cytogenetics, treatment
    # history, CNS, blood counts and serology still needed (transplant and imaging only if they apply).
    assert checklist.needed_count == 6
    assert checklist.in_review_count == 1 and checklist.satisfied_count == 3
    marrow = next(i for i in checklist.items if i.key == "bone_marrow")
    assert marrow.in_review == 1 and marrow.accepted == 0 and not marrow.needed

    w.ivanova.preferred_language = "en"  # the page's words are read below
    w.ivanova.save(update_fields=["preferred_language"])
    family = Client()
    family.force_login(w.ivanova)
    portal = family.get(f"/portal/cases/{w.case_a.pk}/").content.decode()

    coordinator = Client()
    coordinator.force_login(w.alice)
    builder = coordinator.get(f"/admin/hospitals/referral/{w.referral.pk}/packet-builder/").content.decode()
    case_page = coordinator.get(f"/admin/cases/case/{w.case_a.pk}/section/records/").content.decode()

    assert "Nothing missing" not in builder
    assert _needed_on(portal) == _needed_on(builder) == _needed_on(case_page) == checklist.needed_count
    assert packet_preview(referral=w.referral).checklist.needed_count == checklist.needed_count


def test_the_centres_own_list_adds_to_the_case_checklist_in_the_builder(checklist_case):
    w = checklist_case
    RequiredRecord.objects.create(hospital=w.pkuph, doc_type="consent", note="Signed consent to share records")
    preview = packet_preview(referral=w.referral)
    centre_only = [i for i in preview.checklist.items if i.key == "centre:consent"]
    assert centre_only and centre_only[0].needed and centre_only[0].for_centre
    assert preview.checklist.needed_count == records_needed(w.case_a).needed_count + 1


def test_an_unreviewed_file_is_flagged_and_left_out_of_the_packet(checklist_case):
    w = checklist_case
    preview = packet_preview(referral=w.referral)
    assert w.marrow not in preview.documents
    coordinator = Client()
    coordinator.force_login(w.alice)
    builder = coordinator.get(f"/admin/hospitals/referral/{w.referral.pk}/packet-builder/").content.decode()
    assert "Not reviewed: left out" in builder and f'value="{w.marrow.pk}"' not in builder


def test_choosing_an_unreviewed_file_for_a_packet_is_refused_by_name(checklist_case):
    from navigator.errors import DomainError

    w = checklist_case
    with pytest.raises(DomainError, match=f"not reviewed yet; accept them first: {w.marrow.pk}"):
        packet_preview(referral=w.referral, document_ids=[w.cd19.pk, w.marrow.pk])


def test_an_accepted_record_goes_into_packets_by_default(checklist_case):
    from documents.services import document_accept

    w = checklist_case
    accepted = document_accept(document=w.marrow, actor=w.alice)
    assert accepted.include_in_packets
    assert accepted in packet_preview(referral=w.referral).documents
