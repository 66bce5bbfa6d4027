"""Import ClinicalTrials.gov API v2 study records into the options register.

    manage.py import_ctgov studies.json                       # a file: one study, a list, or {"studies": [...]}
    manage.py import_ctgov https://clinicaltrials.gov/api/v2/studies/NCT04340167

Idempotent on the NCT number: an unchanged record adds nothing, a changed one adds a version.
All the records of one run are imported, or none (the error names the record and the field).
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import requests
from django.core.management.base import BaseCommand, CommandError

from navigator.errors import DomainError
from options import ctgov
from options.services import studies_import

TIMEOUT_SECONDS = 30
MAX_BYTES = 20 * 1024 * 1024


def read_source(source: str):
    """The JSON of a file or an http(s) URL."""
    if urlparse(source).scheme in ("http", "https"):
        try:
            response = requests.get(source, timeout=TIMEOUT_SECONDS, headers={"Accept": "application/json"})
            response.raise_for_status()
        except requests.RequestException as error:
            raise CommandError(f"{source}: could not fetch ({error})") from None
        if len(response.content) > MAX_BYTES:
            raise CommandError(f"{source}: larger than {MAX_BYTES} bytes")
        text = response.text
    else:
        path = Path(source)
        if not path.is_file():
            raise CommandError(f"{source}: no such file")
        text = path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f"{source}: not JSON ({error.msg} at line {error.lineno})") from None


class Command(BaseCommand):
    help = "Import ClinicalTrials.gov API v2 study records (files or URLs) into the options register."

    def add_arguments(self, parser):
        parser.add_argument("sources", nargs="+", help="JSON files or https URLs of the API v2")

    def handle(self, *args, **options):
        documents: list[dict] = []
        for source in options["sources"]:
            try:
                documents.extend(ctgov.studies_in(read_source(source)))
            except ctgov.StudyError as error:
                raise CommandError(f"{source}: {error}") from None
        try:
            result = studies_import(
                documents=documents, actor="manage.py import_ctgov", source=" ".join(options["sources"])
            )
        except DomainError as error:
            raise CommandError(f"nothing imported: {error.message}") from None
        self.stdout.write(
            f"created {len(result.created)}, updated {len(result.updated)}, unchanged {len(result.unchanged)}"
        )
        for label in ("created", "updated", "unchanged"):
            for nct_id in getattr(result, label):
                self.stdout.write(f"  {label}: {nct_id}")
