"""The API answers what its OpenAPI schema says, for every role, every method, every check.

schemathesis generates valid and invalid requests for every operation from our own schema
and runs all of its checks on each answer (server errors, status codes, content types,
response bodies and headers, invalid data rejected, valid data accepted, authentication not
ignored, unsupported methods answered 405 with ``Allow``). It runs as each kind of caller:
a coordinator's session, a family member's session, a centre's API key, and nobody; and once
more with strings drawn from the whole Unicode range, NUL and lone surrogates included.

Bounded for CI: ``CONFORMANCE_EXAMPLES`` generated requests per operation and mode (default 3).
Each test prints its totals (requests and failures by kind).
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import DatabaseError, close_old_connections, connection, transaction
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

EXAMPLES = int(os.environ.get("CONFORMANCE_EXAMPLES", "3"))
# Operations whose side effects would spoil the rest of the run for this role.
SKIPPED = {("POST", "/api/v1/uploads/")}
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

# How schemathesis names what it found, grouped as the report counts them.
KINDS = {
    "ServerError": "server errors",
    "JsonSchemaError": "schema violations",
    "MalformedJson": "schema violations",
    "UndefinedStatusCode": "undocumented statuses",
    "UndefinedContentType": "undocumented content types",
    "MalformedMediaType": "undocumented content types",
    "MissingContentType": "undocumented content types",
}


@dataclass
class Totals:
    requests: int = 0
    failures: Counter = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, text: str) -> None:
        self.failures[kind] += 1
        self.examples.setdefault(kind, [])
        if len(self.examples[kind]) < 15 and text not in self.examples[kind]:
            self.examples[kind].append(text)

    def summary(self, role: str) -> str:
        counts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.failures.items())) or "no failures"
        return f"conformance as {role}: {self.requests} requests; {counts}"

    def report(self) -> str:
        return "\n".join(f"[{kind}] {text}" for kind, items in sorted(self.examples.items()) for text in items)


@pytest.fixture
def api(db, settings):
    from drf_spectacular.generators import SchemaGenerator

    settings.ALLOWED_HOSTS = ["*"]
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()
    # As Django's test client does: keep the test's connection (and its transaction) open.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    logging.disable(logging.WARNING)  # thousands of request lines; the totals are printed
    yield schema
    logging.disable(logging.NOTSET)
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _failures(exc: BaseException) -> list[BaseException]:
    inner = getattr(exc, "exceptions", None)
    if inner:
        return [f for e in inner for f in _failures(e)]
    return [exc]


def _isolated_call(case, **kwargs):
    """One request in a savepoint of the test's transaction: a request that broke the
    transaction (a server error) cannot turn every later request into one too."""
    savepoint = transaction.savepoint()
    response = case.call(**kwargs)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        transaction.savepoint_commit(savepoint)
    except DatabaseError:
        transaction.savepoint_rollback(savepoint)
    return response


def conform(schema, *, headers: dict, cookies: dict, own_ids: list[int], full_unicode: bool = False) -> Totals:
    """Every operation with generated valid and invalid requests; every operation with one path
    parameter also with valid requests naming the caller's own objects (random ids mostly
    miss, and a 404 shows nothing of the answers a real object gets)."""
    totals = Totals()
    if full_unicode:
        # Every code point, NUL and lone surrogates included (the default keeps to UTF-8).
        schema.config.generation.update(codec=None, allow_x00=True)
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        label = f"{operation.method.upper()} {operation.path}"
        params = [p.name for p in operation.path_parameters]

        def check(case, mode, label=label):
            response = _isolated_call(case, headers=headers, cookies=cookies)
            totals.requests += 1
            try:
                case.validate_response(response, headers={**headers, **_cookie_header(cookies)})
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # noqa: BLE001 - a FailureGroup: every failure is counted
                for failure in _failures(exc):
                    kind = KINDS.get(type(failure).__name__, type(failure).__name__)
                    title = getattr(failure, "title", "") or str(failure).splitlines()[0]
                    totals.add(kind, f"{label} -> {response.status_code}: {title} [{mode}] {case.formatted_path}"[:300])

        strategies = [
            (mode.value, operation.as_strategy(generation_mode=mode))
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
        ]
        if (
            len(params) == 1
            and own_ids
            and operation.path_parameters[0].definition.get("schema", {}).get("type") in ("integer", None)
        ):
            for own in own_ids:

                def named(case, own=own):
                    case.path_parameters = {params[0]: own}
                    return case

                strategies.append(
                    (f"id {own}", operation.as_strategy(generation_mode=GenerationMode.POSITIVE).map(named))
                )
        for mode, strategy in strategies:
            _run(strategy, lambda case, mode=mode: check(case, mode), examples=1 if mode.startswith("id") else EXAMPLES)
    return totals


def _run(strategy, check, *, examples: int) -> None:
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        check(case)

    run()


def _cookie_header(cookies: dict) -> dict:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


def session_of(client, user) -> tuple[dict, dict]:
    client.force_login(user)
    token = "c" * 32
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}
    return {"X-CSRFToken": token}, cookies


def centre_key(world) -> tuple[dict, dict]:
    from hospitals.services.credentials import credential_issue

    _, secret = credential_issue(hospital=world.pkuph, actor=world.sam, label="conformance", user=world.dr_li)
    return {"Authorization": f"Bearer {secret}"}, {}


@pytest.fixture
def lived_in(world, django_capture_on_commit_callbacks):
    """The world with a case referred and answered on: documents, a clinical profile, packet
    versions sent, messages both ways, a proposed slot, a webhook endpoint."""
    import datetime as dt

    from django.utils import timezone

    from hospitals.services.referrals import referral_create, referral_send, slots_propose
    from hospitals.tests.conftest import add_document, record_profile
    from messaging.models import Thread
    from messaging.services import message_post
    from webhooks.services import webhook_endpoint_create

    w = world
    w.referral_a.delete()
    with django_capture_on_commit_callbacks(execute=False):
        record_profile(w.case_a, w.alice)
    add_document(w.case_a, w.alice, "cd19_flow", "cd19-flow-report")
    w.referral_a = referral_create(case=w.case_a, hospital=w.pkuph, actor=w.alice, cover_note="Relapse")
    referral_send(referral=w.referral_a, actor=w.alice)
    add_document(w.case_a, w.alice, "mrd_report", "mrd")
    referral_send(referral=w.referral_a, actor=w.alice)
    w.referral_a.refresh_from_db()
    message_post(author=w.alice, body="Packet sent.", case=w.case_a, kind=Thread.Kind.HOSPITAL, hospital=w.pkuph)
    message_post(author=w.dr_li, body="Received.", case=w.case_a, kind=Thread.Kind.HOSPITAL, hospital=w.pkuph)
    message_post(author=w.ivanova, body="Thank you.", case=w.case_a, kind=Thread.Kind.FAMILY)
    slots_propose(
        referral=w.referral_a,
        actor=w.dr_li,
        kind="teleconsultation",
        slots=[{"starts_at": timezone.now() + dt.timedelta(days=5)}],
    )
    webhook_endpoint_create(hospital=w.pkuph, url="https://his.example.cn/hooks", actor=w.dr_li)
    return w


def own_ids(world) -> list[int]:
    """Ids of the objects the world holds on case A: most operations' own objects."""
    from documents.models import Document
    from messaging.models import Thread

    ids = {world.case_a.pk, world.patient_a.pk, world.contact_a.pk, world.referral_a.pk}
    ids |= set(Document.objects.filter(case=world.case_a).values_list("pk", flat=True))
    ids |= set(Thread.objects.filter(case=world.case_a).values_list("pk", flat=True))
    return sorted(ids)


@pytest.fixture
def as_role(request, client, lived_in):
    world = lived_in
    role = request.param
    if role == "coordinator session":
        return role, *session_of(client, world.alice), own_ids(world)
    if role == "family session":
        return role, *session_of(client, world.ivanova), own_ids(world)
    if role == "centre key":
        return role, *centre_key(world), own_ids(world)
    return role, {}, {}, own_ids(world)


# Reported (in the printed totals), not failed: a schema-valid request refused with a 4xx by a
# rule a schema cannot express (an id that names nothing, a date that has passed, a status that
# does not allow the move), and a request outside the schema that a lenient parser accepted (a
# filter value django-filter ignores). Server errors, schema violations, undocumented statuses
# and content types, ignored authentication and every other check's findings fail the test.
REPORTED_ONLY = {"RejectedPositiveData", "AcceptedNegativeData"}


def _assert_clean(totals: Totals, role: str) -> None:
    print(totals.summary(role))
    assert totals.requests > 300
    failing = {kind: n for kind, n in totals.failures.items() if kind not in REPORTED_ONLY}
    assert not failing, totals.summary(role) + "\n" + totals.report()


@pytest.mark.slow
@pytest.mark.parametrize("as_role", ["coordinator session", "family session", "centre key", "anonymous"], indirect=True)
def test_every_operation_conforms_to_the_schema_as(api, as_role):
    role, headers, cookies, ids = as_role
    _assert_clean(conform(api, headers=headers, cookies=cookies, own_ids=ids), role)


@pytest.mark.slow
@pytest.mark.parametrize("as_role", ["centre key", "coordinator session", "family session", "anonymous"], indirect=True)
def test_every_operation_conforms_with_any_unicode_text_as(api, as_role):
    role, headers, cookies, ids = as_role
    totals = conform(api, headers=headers, cookies=cookies, own_ids=ids, full_unicode=True)
    _assert_clean(totals, role + " (full Unicode)")
