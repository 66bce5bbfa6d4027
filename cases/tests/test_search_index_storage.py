"""The case search's trigram indexes take new patients straight into the index (migration 0007):
with GIN's pending list a search reads every recently inserted patient until a vacuum."""

import pytest
from django.db import connection


@pytest.mark.django_db
def test_the_trigram_indexes_have_no_pending_list():
    if connection.vendor != "postgresql":
        pytest.skip("the trigram indexes exist on PostgreSQL only")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, c.reloptions FROM pg_class c WHERE c.relname LIKE 'patient\\_%%\\_trgm' ORDER BY 1"
        )
        rows = cursor.fetchall()
    assert [name for name, _ in rows] == [
        "patient_family_name_trgm",
        "patient_given_name_trgm",
        "patient_native_name_trgm",
    ]
    assert all(options == ["fastupdate=off"] for _, options in rows), rows
