"""Who may see what is declared on each model and applied by one dispatcher
(``accounts.access.visible``): a guard over every model, inactive users, and each role's
narrowing as declared."""

import datetime as dt

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.access import VisibleQuerySet, rule_for, visible
from accounts.roles import Role, is_coordinator, is_family, is_hospital, is_supervisor, role_of
from audit.models import AuditEvent
from cases.models import Case, CaseShare
from documents.models import Document, Upload
from eligibility.models import Assessment, FamilySummary
from messaging.models import Thread, TranslationRequest
from portal.models import PortalInvitation
from scheduling.models import Milestone
from travel.models import Admission, Traveller


def _reaches_case(model, seen=frozenset()) -> bool:
    """A chain of foreign keys (or one-to-ones) leads from ``model`` to Case."""
    for field in model._meta.get_fields():
        if not (field.is_relation and field.concrete and (field.many_to_one or field.one_to_one)):
            continue
        target = field.related_model
        if target is Case or (target not in seen and _reaches_case(target, seen | {model})):
            return True
    return False


def _declared_models():
    return [model for model in apps.get_models() if _has_rule(model)]


def _has_rule(model) -> bool:
    try:
        rule_for(model)
    except LookupError:
        return False
    return True


def test_every_model_with_a_path_to_a_case_declares_who_may_see_it():
    reaching = [model for model in apps.get_models() if _reaches_case(model)]
    assert len(reaching) > 30  # the walk finds the case data (documents, milestones, messages, ...)
    undeclared = sorted(model._meta.label for model in reaching if not _has_rule(model))
    assert not undeclared, "Models that reach a case but declare no visibility rule:\n" + "\n".join(undeclared)


def test_the_guard_itself_notices_a_model_without_a_rule():
    class Undeclared:
        _meta = Case._meta

    with pytest.raises(LookupError):
        rule_for(Undeclared)


def test_visible_to_is_written_once():
    for model in _declared_models():
        manager = model._default_manager
        if hasattr(manager, "visible_to"):
            assert type(manager.all()).visible_to is VisibleQuerySet.visible_to, model._meta.label


def test_the_role_helper_handles_anonymous_inactive_and_centreless_users(world):
    assert role_of(AnonymousUser()) is None and role_of(None) is None
    assert not is_family(AnonymousUser()) and not is_coordinator(AnonymousUser())
    assert [role_of(u) for u in (world.alice, world.sam, world.ivanova, world.dr_li)] == [
        Role.COORDINATOR,
        Role.COORDINATOR,
        Role.FAMILY,
        Role.HOSPITAL,
    ]
    assert is_supervisor(world.sam) and not is_supervisor(world.alice)
    assert is_hospital(world.dr_li) and world.dr_li.is_hospital
    world.dr_li.hospital = None
    assert role_of(world.dr_li) is None
    world.ivanova.is_active = False
    assert role_of(world.ivanova) is None and not world.ivanova.is_family


@pytest.fixture
def rich_world(world):
    """The world with a row of each narrowed kind on case A."""
    w = world
    now = timezone.now()

    def document(include):
        return Document.objects.create(
            case=w.case_a,
            doc_type="other",
            source="coordinator",
            original_name="report.pdf",
            file="documents/x.pdf",
            content_type="application/pdf",
            size=1,
            sha256=str(int(include)) * 64,
            include_in_packets=include,
        )

    w.sent_document, w.kept_document = document(True), document(False)
    w.family_milestone = Milestone.objects.create(
        case=w.case_a, key="a", kind="other", title="Clinic", due_at=now, concerns_family=True
    )
    w.mdt_milestone = Milestone.objects.create(case=w.case_a, key="b", kind="other", title="MDT", due_at=now)

    def assessment(centre):
        return Assessment.objects.create(
            case=w.case_a,
            centre=centre,
            ruleset_version="test",
            assessed_on=dt.date.today(),
            profile_snapshot={},
            criteria=[],
            verdict="incomplete",
            input_hash="0" * 64,
            run_by_label="test",
        )

    w.base_assessment, w.pkuph_assessment, w.ruijin_assessment = (
        assessment(None),
        assessment(w.pkuph),
        assessment(w.ruijin),
    )
    w.published = FamilySummary.objects.create(
        case=w.case_a, assessment=w.base_assessment, language="ru", text="…", published_at=now
    )
    w.draft_summary = FamilySummary.objects.create(case=w.case_a, assessment=w.base_assessment, language="en", text="…")
    w.family_thread = Thread.objects.create(case=w.case_a, kind="family")
    w.pkuph_thread = Thread.objects.create(case=w.case_a, kind="hospital", hospital=w.pkuph)
    w.ruijin_thread = Thread.objects.create(case=w.case_a, kind="hospital", hospital=w.ruijin)
    w.traveller = Traveller.objects.create(
        case=w.case_a,
        role="patient",
        given_names="Misha",
        surname="Ivanov",
        nationality="KZ",
        date_of_birth=dt.date(2015, 3, 1),
    )
    w.admission_pkuph = Admission.objects.create(case=w.case_a, hospital=w.pkuph, admission_date=dt.date.today())
    w.admission_ruijin = Admission.objects.create(case=w.case_a, hospital=w.ruijin, admission_date=dt.date.today())
    w.upload = Upload.objects.create(
        user=w.ivanova, case=w.case_a, doc_type="other", filename="scan.pdf", length=10, expires_at=now
    )
    w.audit = AuditEvent.objects.create(action="view", object_type="cases.Case", object_id=str(w.case_a.pk))
    w.translation = TranslationRequest.objects.create(case=w.case_a, message=None, document=w.kept_document)
    w.invitation = PortalInvitation.objects.create(
        contact=w.contact_a, email="olga@example.org", token_hash="1" * 64, expires_at=now + dt.timedelta(days=1)
    )
    return w


def _sees(model, user):
    return set(model.objects.visible_to(user))


def test_inactive_and_anonymous_users_see_nothing_anywhere(rich_world):
    w = rich_world
    assert _sees(Case, w.alice) and _sees(Case, w.ivanova) and _sees(Case, w.dr_li)
    for user in (w.alice, w.ivanova, w.dr_li):
        user.is_active = False
    for model in _declared_models():
        for user in (w.alice, w.ivanova, w.dr_li, AnonymousUser()):
            assert not visible(model._default_manager.all(), user).exists(), (model._meta.label, user)


def test_a_centre_sees_only_documents_sent_in_packets_the_family_all_of_its_own(rich_world):
    w = rich_world
    assert _sees(Document, w.dr_li) == {w.sent_document}
    assert _sees(Document, w.ivanova) == {w.sent_document, w.kept_document}
    assert _sees(Document, w.chen) == set() and _sees(Document, w.dr_wang) == set()


def test_a_family_sees_only_milestones_that_concern_it(rich_world):
    w = rich_world
    assert _sees(Milestone, w.ivanova) == {w.family_milestone}
    assert _sees(Milestone, w.dr_li) == {w.family_milestone, w.mdt_milestone}


def test_a_centre_sees_base_assessments_and_its_own_families_none(rich_world):
    w = rich_world
    assert _sees(Assessment, w.dr_li) == {w.base_assessment, w.pkuph_assessment}
    assert _sees(Assessment, w.ivanova) == set()
    assert len(_sees(Assessment, w.alice)) == 3


def test_a_family_sees_published_summaries_only_and_a_centre_none(rich_world):
    w = rich_world
    assert _sees(FamilySummary, w.ivanova) == {w.published}
    assert _sees(FamilySummary, w.dr_li) == set()
    assert _sees(FamilySummary, w.alice) == {w.published, w.draft_summary}


def test_threads_are_narrowed_to_the_party(rich_world):
    w = rich_world
    assert _sees(Thread, w.ivanova) == {w.family_thread}
    assert _sees(Thread, w.dr_li) == {w.pkuph_thread}
    assert len(_sees(Thread, w.alice)) == 3


def test_travel_is_the_familys_and_admissions_the_centres_own(rich_world):
    w = rich_world
    assert _sees(Traveller, w.dr_li) == set() and _sees(Traveller, w.ivanova) == {w.traveller}
    assert _sees(Admission, w.dr_li) == {w.admission_pkuph}
    assert _sees(Admission, w.ivanova) == {w.admission_pkuph, w.admission_ruijin}


def test_an_upload_in_progress_is_its_uploaders_only(rich_world):
    w = rich_world
    assert _sees(Upload, w.ivanova) == {w.upload}
    assert _sees(Upload, w.alice) == set()


@pytest.mark.parametrize("model", [AuditEvent, TranslationRequest, PortalInvitation, CaseShare])
def test_staff_only_rows_are_coordinators_only(rich_world, model):
    w = rich_world
    assert _sees(model, w.alice)
    assert _sees(model, w.ivanova) == set() and _sees(model, w.dr_li) == set()
