"""API fuzzing: schemathesis generates requests from our own OpenAPI schema, as each role.

For every operation and a bounded number of generated requests per operation:
- no 5xx;
- the status code, content type and body conform to the schema;
- nothing belonging to another party leaks: the other family's case, patient and contact
  never appear in any response body. Generated ids are mostly random, so each operation with
  a path parameter is also called with every id the other party owns.

Bounded: ``FUZZ_EXAMPLES`` generated requests per operation (default 4) and one test per role.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "4"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Operations whose side effects would spoil the rest of the run for this role.
SKIPPED = {("POST", "/api/v1/uploads/")}
# tus upload chunks are raw bytes.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")


# Findings in other apps, reported for fixing there (each names the operation and the message).
# The test fails on anything else; delete an entry once its fix lands and the test stays green.
KNOWN: list[tuple[str, str]] = []


def is_known(finding: str) -> bool:
    return any(finding.startswith(op) and text in finding for op, text in KNOWN)


@dataclass
class Findings:
    server_errors: list[str] = field(default_factory=list)
    nonconforming: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    requests: int = 0

    def summary(self, role: str) -> str:
        return (
            f"fuzz as {role}: {self.requests} requests, {len(self.server_errors)} 5xx, "
            f"{len(self.nonconforming)} nonconforming ({len([f for f in self.nonconforming if is_known(f)])} known), "
            f"{len(self.leaks)} leaks"
        )

    def unknown(self) -> list[str]:
        return [f for f in self.server_errors + self.nonconforming + self.leaks if not is_known(f)]

    def report(self) -> str:
        lines = []
        for title, items in (
            ("5xx", self.server_errors),
            ("schema", self.nonconforming),
            ("leaks", self.leaks),
        ):
            for item in sorted(set(items))[:40]:
                lines.append(f"[{title}] {item}")
        return "\n".join(lines)


@pytest.fixture
def api_schema(db, settings):
    from drf_spectacular.generators import SchemaGenerator

    settings.ALLOWED_HOSTS = ["*"]
    raw = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(raw)
    schema.app = WSGIHandler()
    # As Django's test client does: keep the test's connection (and its transaction) open
    # across requests instead of closing it at each request's start and end.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield schema
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def dicom(seed: int) -> bytes:
    return b"\x00" * 128 + b"DICM" + bytes([seed]) * 512


@pytest.fixture
def records(world):
    """A document on each case, so lists have something to leak."""
    from documents.services import document_create

    for case, seed in ((world.case_a, 1), (world.case_b, 2)):
        document_create(
            case=case,
            file=io.BytesIO(dicom(seed)),
            filename=f"{case.patient.family_name} scan.dcm",
            doc_type="imaging_study",
            actor=world.alice,
        )
    return world


def markers_of(world, *cases) -> list[str]:
    out = []
    for case in cases:
        patient = case.patient
        out += [case.reference, patient.given_name, patient.native_name]
        out += [c.name for c in patient.contacts.all()]
        out += [str(c.phone) for c in patient.contacts.all() if c.phone]
    return [m for m in out if m]


def ids_of(world, *cases) -> set[int]:
    from documents.models import Document
    from hospitals.models import Referral

    ids = set()
    for case in cases:
        ids |= {case.pk, case.patient_id}
        ids |= set(case.patient.contacts.values_list("pk", flat=True))
        ids |= set(Document.objects.filter(case=case).values_list("pk", flat=True))
        ids |= set(Referral.objects.filter(case=case).values_list("pk", flat=True))
    return ids


def _summary(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    # "Schemathesis found 1 distinct failure", "- ST108 Response violates schema", then the detail line.
    return " | ".join(lines[1:3])[:300] if len(lines) > 2 else " ".join(lines)[:300]


def fuzz(schema, *, headers: dict, forbidden: list[str], foreign_ids: set[int]) -> Findings:
    findings = Findings()
    leak = re.compile("|".join(re.escape(m) for m in forbidden)) if forbidden else None

    def examine(case, response):
        findings.requests += 1
        label = f"{case.operation.method.upper()} {case.operation.path}"
        if response.status_code >= 500:
            findings.server_errors.append(f"{label} -> {response.status_code} {case.formatted_path} {case.query}")
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # noqa: BLE001 - a FailureGroup; collect all, report them together
            findings.nonconforming.append(f"{label} -> {response.status_code}: {_summary(exc)} [query {case.query}]")
        if leak is not None and 200 <= response.status_code < 300:
            hit = leak.search(response.content.decode("utf-8", "replace"))
            if hit:
                findings.leaks.append(f"{label} {case.formatted_path} -> {response.status_code} shows {hit.group(0)!r}")

    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def run(case):
            examine(case, case.call(headers=headers))

        run()

        # Random ids rarely hit a real row: try every id the other party owns, reading and
        # writing (an empty body: a PATCH that answers 200 would have reached the object).
        params = [p for p in re.findall(r"{(\w+)}", operation.path)]
        if foreign_ids and len(params) == 1:
            method = operation.method.upper()
            for foreign in sorted(foreign_ids):
                kwargs = {"path_parameters": {params[0]: foreign}}
                if method in ("POST", "PUT", "PATCH"):
                    case = operation.Case(**kwargs, body={}, media_type="application/json")
                else:
                    case = operation.Case(**kwargs)
                examine(case, case.call(headers=headers))
    return findings


def snapshot(case) -> dict:
    """Every row held about a case (found as the data export finds them), as plain data."""
    from privacy.services import _serialise, case_data

    data = case_data(case=case)
    return {model._meta.label: _serialise(data.queryset(model)) for model in data.rows}


def changed(before: dict, after: dict) -> list[str]:
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))


def token_headers(user) -> dict:
    token, _ = Token.objects.get_or_create(user=user)
    return {"Authorization": f"Token {token.key}"}


def hospital_headers(world) -> dict:
    from hospitals.services.credentials import credential_issue

    _, secret = credential_issue(hospital=world.pkuph, actor=world.sam, label="fuzz", user=world.dr_li)
    return {"Authorization": f"Bearer {secret}"}


def test_fuzzing_as_a_family_finds_no_errors_and_no_other_familys_data(api_schema, records):
    world = records
    before = snapshot(world.case_b)
    findings = fuzz(
        api_schema,
        headers=token_headers(world.ivanova),
        forbidden=markers_of(world, world.case_b),
        foreign_ids=ids_of(world, world.case_b),
    )
    print(findings.summary("family"))
    assert not changed(before, snapshot(world.case_b)), "the other family's records were changed"
    assert findings.requests > 100
    assert not findings.leaks, findings.report()
    assert not findings.unknown(), findings.report()


def test_fuzzing_as_a_hospital_finds_no_errors_and_no_unshared_case(api_schema, records):
    world = records
    before = snapshot(world.case_b)
    findings = fuzz(
        api_schema,
        headers=hospital_headers(world),
        forbidden=markers_of(world, world.case_b),
        foreign_ids=ids_of(world, world.case_b),
    )
    print(findings.summary("hospital"))
    assert not changed(before, snapshot(world.case_b)), "an unshared case's records were changed"
    assert findings.requests > 100
    assert not findings.leaks, findings.report()
    assert not findings.unknown(), findings.report()


def test_fuzzing_as_a_coordinator_finds_no_errors(api_schema, records):
    world = records
    findings = fuzz(api_schema, headers=token_headers(world.alice), forbidden=[], foreign_ids=set())
    print(findings.summary("coordinator"))
    assert findings.requests > 100
    assert not findings.unknown(), findings.report()


def test_the_leak_detector_sees_another_partys_data_when_it_is_shown(api_schema, records):
    # A coordinator may see every case: fuzzing the case list as one, with case B's details
    # marked as forbidden, must report them. This keeps the detector above honest.
    world = records
    schema = api_schema.include(path_regex=r"^/api/v1/cases/$", method="GET")
    findings = fuzz(
        schema, headers=token_headers(world.alice), forbidden=markers_of(world, world.case_b), foreign_ids=set()
    )
    assert findings.leaks and world.case_b.reference in findings.report()
