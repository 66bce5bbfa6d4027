"""Backups that restore: the drill restores a dump into a new database and checks every
document's SHA-256 in the store against the restored rows."""

import io
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection

from documents import services
from documents.models import Document

from .conftest import image_bytes, pdf_bytes

ROOT = Path(settings.BASE_DIR)
pytestmark = pytest.mark.django_db(transaction=True)


def two_documents(world):
    return [
        services.document_create(
            case=world.case_a, file=io.BytesIO(data), filename=name, doc_type=kind, actor=world.alice
        )
        for data, name, kind in (
            (pdf_bytes(text="drill"), "marrow.pdf", "bone_marrow"),
            (image_bytes(seed=7), "flow.png", "cd19_flow"),
        )
    ]


def corrupt(document):
    path = default_storage.path(document.file.name)
    with open(path, "r+b") as handle:
        handle.seek(0)
        handle.write(b"X")


def test_verify_documents_names_missing_and_differing_documents_by_id(world, capsys):
    first, second = two_documents(world)
    call_command("verify_documents")
    assert "documents checked: 2, missing: 0, differing: 0" in capsys.readouterr().out
    corrupt(first)
    default_storage.delete(second.file.name)
    with pytest.raises(CommandError):
        call_command("verify_documents")
    captured = capsys.readouterr()
    assert "missing: 1, differing: 1" in captured.out
    assert f"(document ids): {second.pk}" in captured.err and f"(document ids): {first.pk}" in captured.err
    assert world.case_a.patient.family_name not in captured.out + captured.err


def server_url():
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    password = f":{params['PASSWORD']}" if params["PASSWORD"] else ""
    return f"postgres://{user}{password}@{params['HOST'] or '127.0.0.1'}:{params['PORT'] or 5432}"


def drill(args, media_root):
    env = {
        **os.environ,
        "DATABASE_URL": f"{server_url()}/{connection.settings_dict['NAME']}",
        "NAVIGATOR_MEDIA_ROOT": str(media_root),
        "DOCUMENT_STORAGE": "local",
        "DJANGO_SECRET_KEY": "restore-drill-test",
        "PYTHON": str(ROOT / ".venv" / "bin" / "python"),
    }
    return subprocess.run(
        [str(ROOT / "bin" / "restore-drill"), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )


def drill_databases():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'navigator_drill_%%'")
        return cursor.fetchone()[0]


@pytest.mark.slow
def test_the_drill_restores_a_dump_into_a_new_database_and_checks_every_document(world, tmp_path):
    documents = two_documents(world)
    media_root = Path(default_storage.location)
    before = drill_databases()
    dump = tmp_path / "navigator.dump"
    subprocess.run(
        ["pg_dump", "-Fc", "--no-owner", "-f", str(dump), f"{server_url()}/{connection.settings_dict['NAME']}"],
        check=True,
        timeout=300,
    )
    passed = drill([str(dump)], media_root)
    assert passed.returncode == 0, passed.stderr
    assert "documents checked: 2, missing: 0, differing: 0" in passed.stdout
    assert "restore drill passed" in passed.stdout

    # A store that lost a document's bytes fails the drill, naming the document by id.
    corrupt(documents[0])
    failed = drill(["--from-live"], media_root)
    assert failed.returncode != 0
    assert "differing: 1" in failed.stdout and str(documents[0].pk) in failed.stderr
    assert drill_databases() == before  # the drill databases are dropped afterwards
    assert Document.objects.count() == 2
