"""Guard: every API route, admin page and portal page that shows case data records who read it.

Table-driven over the URLconf and the admin registry, so a route or page added later is walked
too and fails here until it is audited (issue 12, "audit from one place"; issue 16, finding 2):

- every API view inherits ``AuditedViewMixin`` and declares, for each of its methods, what it
  does with case data (the standard actions by name, every other handler with ``@audited``);
- every GET route is called with case_a's ids (or, for a list, with case_a in it), as the first
  of coordinator, centre and family that may read it, and must answer 2xx and write audit rows;
- every registered ModelAdmin whose model reaches a case has its list page, a case_a row's page,
  its history pages and its custom object pages read by a coordinator, and each writes rows;
- every portal page that names a case is read by its family and writes a row for the case.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.routers import APIRootView
from rest_framework.test import APIClient
from simple_history.admin import SimpleHistoryAdmin

from audit.mixins import NOTHING, READS, STANDARD_ACTIONS, AuditedAdminMixin, AuditedViewMixin
from audit.models import AuditEvent
from audit.services import case_path_to
from cases import workplace

from .test_idor import kwargs_for, owned_by_case_a, stock_case_a, url_of

# Query parameters a route needs to answer, by the end of its route.
QUERY = {
    "documents/checklist/": lambda w: {"case": w.case_a.pk},
    "family-summaries/preview/": lambda w: {"assessment": _base_assessment(w).pk, "language": "en"},
    "/diff/": lambda w: {"against": _base_assessment(w).pk},
}
# Who may read what: the first of these that gets a 2xx is the reader of a route.
READERS = ("alice", "dr_li", "ivanova")


def _base_assessment(world):
    from eligibility.models import Assessment

    return Assessment.objects.filter(case=world.case_a).order_by("pk").first()


def _walk(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/") and "format" not in route:
            yield route, pattern.callback


def _view_class(callback):
    return getattr(callback, "cls", None) or getattr(callback, "view_class", None)


def _handlers(callback) -> dict[str, str]:
    """{HTTP method: handler name} of an API route."""
    actions = getattr(callback, "actions", None)
    if actions:
        return {method.upper(): name for method, name in actions.items()}
    view = _view_class(callback)
    return {m.upper(): m for m in ("get", "post", "put", "patch", "delete", "head") if hasattr(view, m)}


def _declared(view, handler: str, method: str):
    declaration = getattr(getattr(view, handler, None), "audit", None)
    if declaration is None and handler in STANDARD_ACTIONS:
        declaration = {"methods": STANDARD_ACTIONS[handler]}
    if declaration is None:
        return None
    methods = declaration["methods"]
    return methods.get(method) or (methods.get("GET") if method == "HEAD" else None)


def api_routes():
    return [(route, cb) for route, cb in _walk() if _view_class(cb) is not APIRootView]


def test_every_api_view_is_audited_and_declares_every_method():
    assert len(api_routes()) >= 60, "the URLconf walk found too few API routes"
    missing = []
    for route, callback in api_routes():
        view = _view_class(callback)
        if not issubclass(view, AuditedViewMixin):
            missing.append(f"{route}: {view.__name__} does not inherit AuditedViewMixin")
            continue
        for method, handler in _handlers(callback).items():
            if _declared(view, handler, method) is None:
                missing.append(f"{method} {route}: {view.__name__}.{handler} declares nothing (@audited)")
    assert not missing, "API handlers whose reads would go unrecorded:\n" + "\n".join(missing)


@pytest.fixture
def stocked(world):
    stock_case_a(world)
    return world


def _get_route(route, callback, world):
    """The URL of a GET route filled with case_a's ids, or None for a route without GET."""
    handlers = _handlers(callback)
    if "GET" not in handlers:
        return None
    kind = _declared(_view_class(callback), handlers["GET"], "GET")
    if kind == NOTHING:
        return None
    kwargs = kwargs_for(route, callback, world) if re.search(r"\(\?P<|<", route) else {}
    assert kwargs is not None, f"no case_a object to read {route} with"
    return url_of(route, kwargs)


def test_every_api_read_writes_audit_rows(stocked):
    world = stocked
    clients = {}
    for name in READERS:
        clients[name] = APIClient()
        clients[name].force_authenticate(getattr(world, name))
    unread, unrecorded, walked = [], [], 0
    for route, callback in api_routes():
        url = _get_route(route, callback, world)
        if url is None:
            continue
        query = next((q(world) for end, q in QUERY.items() if route.rstrip("$").endswith(end)), {})
        for name in READERS:
            before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            response = clients[name].get(url, query)
            if response.status_code < 300:
                break
        else:
            unread.append(f"GET {url}: {response.status_code} for every reader")
            continue
        walked += 1
        rows = AuditEvent.objects.filter(id__gt=before, actor=getattr(world, name), action__in=READS)
        if not rows.exists():
            unrecorded.append(f"GET {url} as {name}: no audit row")
        elif "{" not in route and "<" not in route and "(?P" not in route:
            continue  # a list: the rows of the page, whatever they are
        elif not rows.filter(case_id=world.case_a.pk).exists() and _reaches_case(callback):
            unrecorded.append(f"GET {url} as {name}: rows do not name case_a")
    assert not unread, "API reads nobody could make (add query parameters to QUERY):\n" + "\n".join(unread)
    assert not unrecorded, "API reads that wrote no audit row:\n" + "\n".join(unrecorded)
    assert walked >= 45, walked


def _reaches_case(callback) -> bool:
    queryset = getattr(_view_class(callback), "queryset", None)
    return queryset is None or case_path_to(queryset.model) is not None


def test_a_centre_reading_a_referrals_messages_and_slots_is_recorded(stocked):
    """Issue 16, finding 2: these two reads recorded nothing."""
    world = stocked
    client = APIClient()
    client.force_authenticate(world.dr_li)
    for what in ("messages", "slots"):
        before = AuditEvent.objects.count()
        assert client.get(f"/api/v1/referrals/{world.referral_a.pk}/{what}/").status_code == 200
        rows = AuditEvent.objects.order_by("id")[before:]
        assert rows and all(r.case_id == world.case_a.pk and r.actor == world.dr_li for r in rows), what


def test_an_undeclared_action_refuses_to_run(world, rf):
    from django.core.exceptions import ImproperlyConfigured
    from rest_framework.decorators import action
    from rest_framework.response import Response

    from navigator.api import VisibleReadOnlyViewSet
    from travel.models import Traveller

    class Forgetful(VisibleReadOnlyViewSet):
        queryset = Traveller.objects.all()

        @action(detail=False, methods=["get"])
        def everything(self, request):
            return Response([])

    view = Forgetful.as_view({"get": "everything"})
    request = rf.get("/")
    request.user = world.alice
    with pytest.raises(ImproperlyConfigured, match="does not declare"):
        view(request)


# --- the admin ---------------------------------------------------------------------------------


def holds_case_data(model) -> bool:
    return case_path_to(model) is not None or model._meta.label in ("cases.Patient", "cases.FamilyContact")


def case_admins():
    return [(model, model_admin) for model, model_admin in admin.site._registry.items() if holds_case_data(model)]


def test_every_admin_of_case_data_is_audited():
    admins = case_admins()
    assert len(admins) >= 25, [m._meta.label for m, _ in admins]
    missing = [m._meta.label for m, a in admins if not isinstance(a, AuditedAdminMixin)]
    assert not missing, f"admins showing case data without AuditedAdminMixin: {missing}"


def _case_a_row(model, world):
    if model._meta.concrete_model._meta.label == "cases.Case":  # a proxy: the case itself
        return model.objects.get(pk=world.case_a.pk)
    obj = owned_by_case_a(model, world)
    if obj is None and model._meta.label == "privacy.Erasure":
        obj = model.objects.create(case=world.case_a, case_reference=world.case_a.reference, erased_by="guard")
    if obj is None and model._meta.label == "privacy.ErasureFailure":
        obj = model.objects.create(case=world.case_a, attempts=1, last_error="OSError: guard")
    if obj is None and model._meta.label == "messaging.TranslationRequest":
        from messaging.services import message_mark_for_translation, message_post

        message = message_post(author=world.alice, body="Добрый день", case=world.case_a, kind="family")
        message_mark_for_translation(message=message, actor=world.alice, target_language="en")
        obj = owned_by_case_a(model, world)
    return obj


STANDARD_ADMIN_URLS = ("changelist", "add", "delete", "change", "history", "autocomplete")
# Parameters of custom admin pages that are not the object's id: every value each may take.
PAGE_PARAMETERS = {"section": lambda: [key for key, _title in workplace.TABS]}  # the case page's sections


def admin_pages(model, model_admin, obj) -> list[str]:
    """Every GET page of this admin that shows obj or its list: standard and custom."""
    opts = model._meta
    prefix = f"/admin/{opts.app_label}/{opts.model_name}/"
    pages = [prefix, f"{prefix}{obj.pk}/change/", f"{prefix}{obj.pk}/history/"]
    if isinstance(model_admin, SimpleHistoryAdmin):  # an earlier version of the record
        pages.append(f"{prefix}{obj.pk}/history/{obj.history.order_by('history_id').first().history_id}/")
    for pattern in model_admin.get_urls():
        name = pattern.name or ""
        if not name or not isinstance(pattern, URLPattern) or any(name.endswith("_" + s) for s in STANDARD_ADMIN_URLS):
            continue
        if name.endswith("_simple_history") or not re.search(r"<", str(pattern.pattern)):
            continue
        route = str(pattern.pattern)
        for parameter, values in PAGE_PARAMETERS.items():
            if re.search(rf"<(?:\w+:)?{parameter}>", route):
                pages.extend(prefix + _fill_route(route, obj, {parameter: value}) for value in values())
                break
        else:
            pages.append(prefix + _fill_route(route, obj, {}))
    return pages


def _fill_route(route: str, obj, values: dict) -> str:
    """The route with ``values`` for the parameters they name and the object's id for the others."""
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), obj.pk)), route)


def test_every_admin_page_of_case_data_writes_audit_rows(stocked, client):
    world = stocked
    unread, unrecorded, walked = [], [], 0
    readers = [world.alice, world.sam]
    for model, model_admin in case_admins():
        obj = _case_a_row(model, world)
        if obj is None:
            unread.append(f"{model._meta.label}: no case_a row to read")
            continue
        for url in admin_pages(model, model_admin, obj):
            for reader in readers:
                client.force_login(reader)
                before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
                response = client.get(url)
                if response.status_code in (200, 405):  # 405: an action that only takes a POST shows nothing
                    break
            else:
                unread.append(f"GET {url}: {response.status_code}")
                continue
            if response.status_code == 405:
                continue
            walked += 1
            if hasattr(response, "streaming_content"):
                b"".join(response.streaming_content)
            if not AuditEvent.objects.filter(id__gt=before, actor=reader, action__in=READS).exists():
                unrecorded.append(f"GET {url} as {reader.username}: no audit row")
    assert not unread, "admin pages nobody could read:\n" + "\n".join(unread)
    assert not unrecorded, "admin pages that wrote no audit row:\n" + "\n".join(unrecorded)
    assert walked >= 75, walked


def test_the_walk_reads_every_section_of_the_case_page(world):
    from cases.models import Case

    pages = admin_pages(Case, admin.site._registry[Case], world.case_a)
    for key, _title in workplace.TABS:
        assert f"/admin/cases/case/{world.case_a.pk}/section/{key}/" in pages, key


def test_the_data_request_pages_are_recorded(stocked, client):
    """Issue 16, finding 2: the admin's data-request list and pages recorded nothing."""
    world = stocked
    client.force_login(world.alice)
    client.get("/admin/privacy/casedatarequest/")
    client.get(f"/admin/privacy/casedatarequest/{world.case_a.pk}/change/")
    b"".join(client.get(f"/admin/privacy/casedatarequest/{world.case_a.pk}/export/").streaming_content)
    # The list page is one event naming the cases it showed (found by for_case).
    events = AuditEvent.objects.for_case(world.case_a.pk).filter(
        actor=world.alice, object_type="privacy.CaseDataRequest"
    )
    assert set(events.values_list("action", flat=True)) == {"list", "view", "export"}
    assert events.get(action="export").detail["files"] >= 1


# --- the portal --------------------------------------------------------------------------------


def test_every_portal_page_of_a_case_writes_audit_rows(stocked, client):
    """Every portal page that names a case is read by its family and must record the read."""
    from portal.selectors import upcoming_milestones
    from portal.urls import urlpatterns

    world = stocked
    milestone = upcoming_milestones(world.case_a, world.ivanova)[0]
    client.force_login(world.ivanova)
    pages = [
        p for p in urlpatterns if "<int:case_id>" in str(p.pattern) and "get" in p.callback.view_class.http_method_names
    ]
    assert len(pages) >= 8, [str(p.pattern) for p in pages]
    unrecorded = []
    for pattern in pages:
        url = "/portal/" + str(pattern.pattern).replace("<int:case_id>", str(world.case_a.pk))
        url = url.replace("<int:milestone_id>", str(milestone.pk))
        before = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        rows = AuditEvent.objects.filter(id__gt=before, actor=world.ivanova, action__in=READS)
        if not rows.filter(case_id=world.case_a.pk, detail__via="portal").exists():
            unrecorded.append(url)
    assert not unrecorded, "portal pages that wrote no audit row:\n" + "\n".join(unrecorded)
