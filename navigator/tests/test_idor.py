"""IDOR: no family or hospital user reads or changes another party's objects through the API.

Table-driven over the URLconf: every API route that names an object is walked with the ids
of objects belonging to case_a (Misha Ivanov's case, shared with PKUPH only), as chen (the
family of case_b) and dr_wang (Ruijin, which has been shown nothing). Each answer must be a
404, exactly as for an id that does not exist, and nothing of case_a may change.

The ids are found by following foreign keys from each view's model to ``cases.Case`` (or to
the hospital that owns the row), not through ``visible_to``, so a mistake in the access
rule cannot hide an object from the test. A route added later with no way to find its object
fails ``test_every_object_route_is_covered``.
"""

from __future__ import annotations

import base64
import datetime as dt
import random
import re

import pytest
from django.apps import apps
from django.db import models
from django.forms.models import model_to_dict
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from cases import workflow
from cases.models import Case

MISSING = 987654321
MISSING_UUID = "00000000-0000-4000-8000-000000000000"
WRITE_METHODS = ("put", "patch", "delete", "post")


def _walk(patterns=None, prefix=""):
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
            yield route, pattern


def object_routes() -> list[tuple[str, object, list[str]]]:
    """(route, callback, methods) for every API route with an object id in its path."""
    out = []
    for route, pattern in _walk():
        if "format" in route or not re.search(r"\(\?P<|<", route):
            continue
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        if actions:
            methods = sorted(actions)
        else:
            view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
            methods = sorted(m for m in ("get", "put", "patch", "delete", "post") if hasattr(view_class, m))
        out.append((route, callback, methods))
    return out


def _path_to(model, target, depth=3, seen=()):
    """The ORM lookup path from ``model`` to ``target`` through forward foreign keys."""
    if model is target:
        return ""
    if depth == 0:
        return None
    for field in model._meta.get_fields():
        if isinstance(field, (models.ForeignKey, models.OneToOneField)) and field.concrete:
            related = field.related_model
            if related in seen:
                continue
            rest = _path_to(related, target, depth - 1, (*seen, model))
            if rest is not None:
                return field.name + (f"__{rest}" if rest else "")
    return None


def case_path(model) -> str | None:
    """How rows of ``model`` reach their case; a patient and its contacts reach it backwards."""
    label = model._meta.label
    if label == "cases.Patient":
        return "cases"
    if label == "cases.FamilyContact":
        return "patient__cases"
    return _path_to(model, Case)


def owned_by_case_a(model, world):
    """The first row of ``model`` that belongs to case_a (or, for a centre's own rows, to PKUPH)."""
    from hospitals.models import Hospital

    path = case_path(model)
    if path is not None:
        return model.objects.filter(**{path or "pk": world.case_a.pk}).order_by("pk").first()
    path = _path_to(model, Hospital)
    if path is not None:
        return model.objects.filter(**{path or "pk": world.pkuph.pk}).order_by("pk").first()
    return None


def stock_case_a(world):
    """One row of every kind on case_a, through the demo seeders and the apps' services."""
    from cases.demo import STORIES, _app_seeders
    from documents.models import Upload
    from documents.services import document_request_create
    from eligibility.models import FitnessAssessment, Transplant
    from eligibility.selectors import latest_assessments
    from eligibility.services import assessment_run, family_summary_publish, profile_record_fact, profile_update
    from hospitals.services.packets import packet_freeze
    from hospitals.services.referrals import slots_propose
    from scheduling.feed_tokens import calendar_link_issue
    from scheduling.services import task_open
    from travel.models import AirportPickup, InterpreterNeed, Leg
    from travel.services import travel_save
    from webhooks.services import webhook_endpoint_create

    case, alice = world.case_a, world.alice
    story = next(s for s in STORIES if s.status == workflow.TRAVEL)
    # case_a is already referred to PKUPH (referral_a): the centres' seeder is left out.
    seeders = [s for s in _app_seeders() if not s.__module__.startswith("hospitals.")]
    for status in (workflow.TRAVEL, workflow.FOLLOW_UP):
        Case.objects.filter(pk=case.pk).update(status=status)
        case.refresh_from_db()
        for seed in seeders:
            seed(case=case, story=story, rng=random.Random(7), actor=alice)

    today = timezone.localdate()
    document_request_create(case=case, doc_type="blood_counts", description="Latest blood count", actor=alice)
    if not Transplant.objects.filter(profile__case=case).exists():
        profile_update(case=case, actor=alice, prior_transplant=True)
        profile_record_fact(
            case=case, kind="transplants", actor=alice, date=today - dt.timedelta(days=400), donor_type="haploidentical"
        )
    if not FitnessAssessment.objects.filter(profile__case=case).exists():
        profile_record_fact(
            case=case, kind="fitness", actor=alice, scale="lansky", score=80, date=today - dt.timedelta(days=3)
        )
    assessment_run(case=case, actor=alice)
    family_summary_publish(assessment=latest_assessments(case)[0], language="en", actor=alice)
    task_open(case=case, key="idor-check", title="Call the family")
    calendar_link_issue(user=alice, case=case)  # the coordinator's probe then reads it, instead of making one
    leg = Leg.objects.filter(journey__case=case).first()
    travel_save(
        obj=AirportPickup(case=case, leg=leg, meet_at=timezone.now() + dt.timedelta(days=20)), actor=alice, via="test"
    )
    travel_save(obj=InterpreterNeed(case=case, language="ru", starts_on=today), actor=alice, via="test")
    packet_freeze(referral=world.referral_a, actor=alice)
    slots_propose(
        referral=world.referral_a,
        actor=world.dr_li,
        kind="teleconsultation",
        slots=[{"starts_at": timezone.now() + dt.timedelta(days=5)}],
    )
    webhook_endpoint_create(hospital=world.pkuph, url="https://pkuph.example/hooks", actor=alice)
    # A resumable upload in progress, started by the family through the tus endpoint.
    family = APIClient()
    family.force_authenticate(world.ivanova)
    meta = {"case": str(case.pk), "doc_type": "blood_counts", "filename": "cbc.pdf"}
    response = family.post(
        "/api/v1/uploads/",
        HTTP_TUS_RESUMABLE="1.0.0",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in meta.items()),
    )
    assert response.status_code == 201, response.content
    assert Upload.objects.filter(case=case).exists()
    # An option shortlisted for case_a and shown to its family.
    from options.demo import seed_setup as options_seed_setup
    from options.models import Option
    from options.services import shortlist_add, shortlist_share

    options_seed_setup()
    inotuzumab = Option.objects.get(short_name="Inotuzumab ozogamicin")
    shortlist_share(entry=shortlist_add(case=case, option=inotuzumab, actor=alice, reason="guard"), actor=alice)
    return case


def trial_team_staff(world):
    """Staff of a trial team that was sent a screening request for case_b (never case_a)."""
    from accounts.models import User
    from cases.factories import UserFactory
    from hospitals.factories import HospitalFactory
    from hospitals.models import Hospital
    from options.models import Option
    from options.services import screening_request_send, shortlist_add

    team = HospitalFactory(code="trial-team", name_en="CD22 trial team", kind=Hospital.Kind.TRIAL_TEAM)
    option = Option.objects.create(
        short_name="CD22 trial", title="CD22 trial", kind="car_t", source="test", status="RECRUITING", trial_team=team
    )
    entry = shortlist_add(case=world.case_b, option=option, actor=world.bob, reason="CD22")
    screening_request_send(entry=entry, actor=world.bob)
    return UserFactory(username="dr_trial", role=User.Role.HOSPITAL, hospital=team)


def kwargs_for(route: str, callback, world) -> dict | None:
    """The path arguments naming case_a's object for this route (None: no object found)."""
    from documents.models import Document

    names = re.findall(r"\(\?P<(\w+)>|<(?:\w+:)?(\w+)>", route)
    names = [a or b for a, b in names]
    kwargs = {}
    view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    queryset = getattr(view_class, "queryset", None)
    for name in names:
        if name in ("case_id",) or (name == "pk" and ("cases/<int:pk>" in route or "itineraries" in route)):
            kwargs[name] = world.case_a.pk
        elif name == "document_id":
            kwargs[name] = Document.objects.filter(case=world.case_a).order_by("pk").first().pk
        elif name == "version":
            kwargs[name] = "latest"
        elif name == "fmt":
            kwargs[name] = "json"
        elif name == "pk" and "uploads/" in route:
            kwargs[name] = str(apps.get_model("documents", "Upload").objects.get(case=world.case_a).pk)
        elif queryset is not None:
            obj = owned_by_case_a(queryset.model, world)
            if obj is None:
                return None
            lookup = getattr(view_class, "lookup_field", "pk")
            value = getattr(obj, lookup, obj.pk)
            kwargs[name] = getattr(value, "pk", value)
        else:
            return None
    return kwargs


def url_of(route: str, kwargs: dict) -> str:
    url = "/" + route.replace("^", "").replace("$", "")

    def repl(match):
        return str(kwargs[match.group(1) or match.group(2)])

    return re.sub(r"\(\?P<(\w+)>[^)]*\)|<(?:\w+:)?(\w+)>", repl, url)


def missing_kwargs(kwargs: dict) -> dict:
    out = {}
    for key, value in kwargs.items():
        if key in ("version", "fmt"):
            out[key] = value
        elif isinstance(value, str) and "-" in value:
            out[key] = MISSING_UUID
        else:
            out[key] = MISSING
    return out


def case_a_rows(world) -> dict:
    """Every row reaching case_a, as plain dicts, to prove nothing was changed or deleted."""
    rows = {}
    for model in apps.get_models():
        if model._meta.app_label in ("audit", "axes", "sessions", "admin"):
            continue
        path = case_path(model)
        if path is None or model._meta.label.startswith("simple_history") or "Historical" in model.__name__:
            continue
        for obj in model.objects.filter(**{path or "pk": world.case_a.pk}):
            data = model_to_dict(obj)
            for name in ("updated_at", "last_activity_at", "last_viewed_at"):
                data.pop(name, None)
            rows[(model._meta.label, obj.pk)] = repr(sorted(data.items(), key=lambda kv: kv[0]))
    return rows


def _code(response) -> str:
    try:
        return response.json().get("code", "")
    except (ValueError, AttributeError):
        return ""


@pytest.fixture
def stocked(world):
    stock_case_a(world)
    return world


def test_every_object_route_is_covered(stocked):
    uncovered = [route for route, callback, _ in object_routes() if kwargs_for(route, callback, stocked) is None]
    assert not uncovered, "API routes with no case_a object to probe:\n" + "\n".join(uncovered)


def probe(world, user) -> tuple[list[str], list[str], int]:
    """Walk every object route with case_a's ids as ``user``.

    Returns what ``user`` could tell apart from a missing object, what the coordinator could
    not read (so a 404 would prove nothing), and how many answers were 404.
    """
    owner, stranger = APIClient(), APIClient()
    owner.force_authenticate(world.alice)
    stranger.force_authenticate(user)
    leaks, owner_misses, not_found = [], [], 0
    for route, callback, methods in object_routes():
        kwargs = kwargs_for(route, callback, world)
        url, nowhere = url_of(route, kwargs), url_of(route, missing_kwargs(kwargs))
        headers = {"HTTP_TUS_RESUMABLE": "1.0.0"} if "uploads/" in route else {}
        if "get" in methods and owner.get(url, **headers).status_code == 404:
            owner_misses.append(url)
        for method in methods:
            body = {} if method != "delete" else None
            response = getattr(stranger, method)(url, body, format="json", **headers)
            baseline = getattr(stranger, method)(nowhere, body, format="json", **headers)
            # The answer must be the one for an id that does not exist: a 404, or the refusal
            # every id of this route gets from this role (e.g. 403 on a coordinators' action).
            same = response.status_code == baseline.status_code and _code(response) == _code(baseline)
            if response.status_code < 400 or not same:
                leaks.append(f"{method.upper()} {url}: {response.status_code} (missing id: {baseline.status_code})")
            not_found += response.status_code == 404
    return leaks, owner_misses, not_found


@pytest.mark.parametrize("intruder", ["chen", "dr_wang", "dr_trial"])
def test_no_other_party_reads_or_changes_case_a_through_any_object_route(stocked, intruder):
    world = stocked
    user = trial_team_staff(world) if intruder == "dr_trial" else getattr(world, intruder)
    assert len(object_routes()) >= 50, "the URLconf walk found too few routes"
    before = case_a_rows(world)
    assert len(before) > 40, "case_a was not stocked with rows of every kind"

    leaks, owner_misses, not_found = probe(world, user)

    assert not owner_misses, "the coordinator could not read (a 404 would prove nothing):\n" + "\n".join(owner_misses)
    assert not leaks, f"{intruder} can tell case_a's objects exist:\n" + "\n".join(leaks)
    # Every route this role may use at all answers 404 for case_a's objects.
    assert not_found >= 30, not_found
    after = case_a_rows(world)
    changed = sorted(str(key) for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    assert not changed, f"{intruder} changed case_a rows: {changed}"


def test_the_probe_reports_a_party_that_can_reach_case_a(stocked):
    """The walk above can fail: case_a's own family reads (and may change) case_a's objects."""
    leaks, _, _ = probe(stocked, stocked.ivanova)
    assert any(leak.startswith(f"GET /api/v1/cases/{stocked.case_a.pk}/:") for leak in leaks), leaks
    assert any("/api/v1/documents/" in leak and leak.startswith("GET") for leak in leaks), leaks
