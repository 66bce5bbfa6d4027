"""The home haematologist's page, its form and their reminders are translated into every portal
language (zh-Hans, ar, ru): no visible English left in the templates, catalogs complete for the
current source, placeholders kept, compiled catalogs up to date."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest

from navigator.testing import untranslated_after_makemessages
from portal.tests.test_translations import TAG, TRANSLATED_BLOCK, WORDS, visible_text

FOLLOWUP = Path(__file__).resolve().parent.parent
ROOT = FOLLOWUP.parent
PAGES = FOLLOWUP / "templates" / "followup"
REMINDER = ROOT / "notifications" / "templates" / "notifications" / "reminder_home"
CATALOGS = ["zh_Hans", "ar", "ru"]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _catalog(app: str, language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / app / "locale" / language / "LC_MESSAGES" / "django.po"))


@pytest.mark.parametrize("template", sorted(p.name for p in PAGES.glob("*.html")))
def test_every_visible_string_of_the_page_is_translated(template):
    # "Navigator" is the service's name, the same in every language.
    leftover = [w for w in WORDS.findall(visible_text((PAGES / template).read_text())) if w != "Navigator"]
    assert leftover == [], f"untranslated text in {template}: {leftover}"


@pytest.mark.parametrize("template", sorted(p.name for p in REMINDER.glob("*.txt")))
def test_every_line_of_their_reminder_is_translated(template):
    text = TAG.sub(" ", TRANSLATED_BLOCK.sub(" ", (REMINDER / template).read_text()))
    assert [w for w in WORDS.findall(text) if w != "Navigator"] == []


def _reminder_msgids() -> set[str]:
    """The reminder's texts as makemessages writes them ({{ name }} becomes %(name)s)."""
    ids = set()
    for path in REMINDER.glob("*.txt"):
        source = path.read_text()
        for block in re.findall(r"{%\s*blocktranslate\s*%}(.*?){%\s*endblocktranslate\s*%}", source, re.S):
            ids.add(re.sub(r"{{\s*(\w+)\s*}}", r"%(\1)s", block))
        ids.update(re.findall(r'{%\s*translate\s+"([^"]+)"\s*%}', source))
    return ids


@pytest.mark.parametrize("language", CATALOGS)
def test_their_reminder_has_a_translation_in_each_language(language):
    translated = {e.msgid for e in _catalog("notifications", language).translated_entries()}
    ids = _reminder_msgids()
    assert len(ids) >= 10 and ids - translated == set()


def test_the_catalogs_hold_every_string_of_the_current_source(tmp_path):
    """makemessages over a copy of the app finds nothing new or changed in any catalog."""
    gaps = untranslated_after_makemessages(FOLLOWUP, CATALOGS, tmp_path)
    assert gaps == {language: [] for language in CATALOGS}, f"new or changed strings without a translation: {gaps}"


@pytest.mark.parametrize("language", CATALOGS)
@pytest.mark.parametrize("app", ["followup", "notifications"])
def test_placeholders_survive_and_the_compiled_catalog_is_current(app, language):
    po = _catalog(app, language)
    assert po.fuzzy_entries() == []
    for entry in po.translated_entries():
        assert set(PLACEHOLDER.findall(entry.msgid)) == set(PLACEHOLDER.findall(entry.msgstr)), entry.msgid
    mo = polib.mofile(str(ROOT / app / "locale" / language / "LC_MESSAGES" / "django.mo"))
    compiled = {e.msgid: e.msgstr for e in mo}
    assert [e.msgid for e in po.translated_entries() if compiled.get(e.msgid) != e.msgstr] == []
