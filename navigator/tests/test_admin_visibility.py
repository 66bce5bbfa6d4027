"""Every admin page and inline that shows case data applies the declared rule through one
base class (``navigator.admin.VisibleAdmin``), which also audits it."""

from django.contrib import admin
from django.test import RequestFactory

from accounts.access import rule_for
from audit.mixins import AuditedAdminMixin
from cases.admin import case_inlines
from documents.models import Document
from navigator.admin import VisibleAdmin
from navigator.tests.test_access_declared import _reaches_case


def _shows_declared_data(model) -> bool:
    try:
        rule_for(model)
    except LookupError:
        return _reaches_case(model)
    return True


def test_every_admin_and_inline_showing_case_data_uses_the_one_base_class():
    offenders = []
    for model, model_admin in admin.site._registry.items():
        inlines = list(model_admin.inlines)
        if model._meta.label == "cases.Case":
            inlines += list(case_inlines())
        for shown, cls in [(model, type(model_admin))] + [(inline.model, inline) for inline in inlines]:
            if _shows_declared_data(shown) and not issubclass(cls, VisibleAdmin):
                offenders.append(f"{cls.__module__}.{cls.__name__} ({shown._meta.label})")
    assert not offenders, "Admins that do not apply the access rule:\n" + "\n".join(sorted(set(offenders)))
    assert issubclass(VisibleAdmin, AuditedAdminMixin)


def test_the_admin_base_class_narrows_to_what_the_user_may_see(world):
    for include in (True, False):
        Document.objects.create(
            case=world.case_a,
            doc_type="other",
            source="coordinator",
            original_name="r.pdf",
            file="documents/r.pdf",
            content_type="application/pdf",
            size=1,
            sha256=str(int(include)) * 64,
            include_in_packets=include,
        )
    model_admin = admin.site._registry[Document]
    request = RequestFactory().get("/admin/documents/document/")
    for user, expected in ((world.alice, 2), (world.dr_li, 1), (world.chen, 0)):
        request.user = user
        assert model_admin.get_queryset(request).count() == expected
    world.alice.is_active = False
    request.user = world.alice
    assert model_admin.get_queryset(request).count() == 0


def test_the_case_page_lists_each_apps_sections_in_working_order():
    # Each app registers its own sections (cases.admin.case_section); cases imports none of them.
    names = [inline.__name__ for inline in case_inlines()]
    assert names == [
        "MilestoneInline",
        "DocumentRequestInline",
        "DocumentInline",
        "AssessmentInline",
        "CaseReferralInline",
        "CaseThreadInline",
        "TravelWarningsInline",
        "TravellerInline",
        "VisaApplicationInline",
        "JourneyInline",
        "AccommodationInline",
        "AirportPickupInline",
        "InterpreterNeedInline",
        "AdmissionInline",
    ]
    assert all("collapse" in inline.classes for inline in case_inlines()[7:])
    assert not getattr(case_inlines()[6], "classes", None)
