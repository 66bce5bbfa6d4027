"""Check every document's bytes against its recorded size and SHA-256: after a restore (the
restore drill, ``bin/restore-drill``), or any time the document store is in doubt.

Prints counts and the ids of the documents that fail (ids only: no names, no file names).
Exits 1 when any document is missing or differs.
"""

from __future__ import annotations

import hashlib

from django.core.management.base import BaseCommand, CommandError

from documents.models import Document
from documents.storage import document_chunks


class Command(BaseCommand):
    help = "Check every document's bytes in the store against its recorded size and SHA-256."

    def handle(self, *args, **options):
        checked = 0
        missing: list[int] = []
        differ: list[int] = []
        rows = Document.objects.order_by("pk").values_list("pk", "file", "size", "sha256")
        for pk, name, size, sha256 in rows.iterator(chunk_size=500):
            checked += 1
            digest = hashlib.sha256()
            length = 0
            try:
                for chunk in document_chunks(name):
                    digest.update(chunk)
                    length += len(chunk)
            except FileNotFoundError:
                missing.append(pk)
                continue
            if length != size or digest.hexdigest() != sha256:
                differ.append(pk)
        self.stdout.write(f"documents checked: {checked}, missing: {len(missing)}, differing: {len(differ)}")
        if missing:
            self.stderr.write(f"missing from the store (document ids): {', '.join(map(str, missing))}")
        if differ:
            self.stderr.write(f"size or SHA-256 differs (document ids): {', '.join(map(str, differ))}")
        if missing or differ:
            raise CommandError("the document store does not match the database")
