"""The upload page's script shows the server's refusals in the family's language."""

import re
from pathlib import Path

import pytest
from django.utils import translation

from portal.views.pages import upload_messages

DOCUMENTS = Path(__file__).resolve().parents[2] / "documents"
# Codes about the file itself, which a family can act on; protocol codes (offsets, headers) are
# handled by the script and never shown.
FILE_CODES = {
    code
    for source in ("validation.py", "services.py")
    for code in re.findall(r'code="(\w+)"', (DOCUMENTS / source).read_text())
} | {"checksum_mismatch", "upload_expired", "too_long"}


def test_every_refusal_of_a_file_has_a_family_text():
    assert FILE_CODES - set(upload_messages()["codes"]) == set()


@pytest.mark.parametrize("language", ["zh-hans", "ar", "ru"])
def test_each_refusal_text_is_translated(language):
    with translation.override("en"):
        english = upload_messages()["codes"]
    with translation.override(language):
        translated = upload_messages()["codes"]
    # Format names (PDF, JPEG, DICOM...) stay as they are; any other English word is a miss.
    untranslated = [
        code
        for code, text in translated.items()
        if text == english[code] or re.search("[A-Za-z]{3,}", re.sub(r"\b[A-Z]{2,}\b", "", text))
    ]
    assert untranslated == []
