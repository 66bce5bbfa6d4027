"""Portal pages cost the same number of queries however many records and messages a case has."""

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from documents.demo import synthetic_pdf
from documents.models import DocType
from documents.services import document_create
from messaging.services import message_post

PAGES = ["case", "records", "checklist", "messages", "schedule"]


def _add(world, start: int, count: int) -> None:
    for n in range(start, start + count):
        document_create(
            case=world.case_a,
            file=io.BytesIO(synthetic_pdf(f"Report {n}", [str(n)])),
            filename=f"report-{n}.pdf",
            doc_type=DocType.BLOOD_COUNTS,
            actor=world.ivanova,
            via="test",
        )
        message_post(author=world.ivanova, case=world.case_a, kind="family", body=f"Message {n}")
        message_post(author=world.alice, case=world.case_a, kind="family", body=f"Answer {n}")


def _queries(client, name, case) -> int:
    client.get(reverse(f"portal:{name}", args=[case.pk]))  # first visit marks messages read
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse(f"portal:{name}", args=[case.pk]))
    assert response.status_code == 200, (name, response.status_code)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("name", PAGES)
def test_a_portal_page_costs_the_same_at_3_and_30_records(client, world, name):
    client.force_login(world.ivanova)
    _add(world, 0, 3)
    small = _queries(client, name, world.case_a)
    _add(world, 3, 27)
    large = _queries(client, name, world.case_a)
    assert small == large, f"{name}: {small} queries with 3 records, {large} with 30"
