"""The published JSON Schemas of the packet format (docs/schemas/), at stable URLs.

A centre's tooling fetches them without credentials: they describe the format and hold no
case data. The files in the repository are the single source: tests validate every packet
against the same files.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

SCHEMA_DIR = Path(settings.BASE_DIR) / "docs" / "schemas"
PUBLISHED = ("packet.schema.json", "manifest.schema.json")


@require_GET
@cache_control(public=True, max_age=3600)
def schema_file(request, name: str):
    if name not in PUBLISHED:
        raise Http404("No such schema.")
    return FileResponse((SCHEMA_DIR / name).open("rb"), content_type="application/schema+json")
