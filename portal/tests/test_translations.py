"""Every string a family can read in the portal's templates is translated, and the
Chinese, Arabic and Russian catalogs are complete for the current source."""

import re
from pathlib import Path

import polib
import pytest

from navigator.testing import untranslated_after_makemessages
from portal.languages import PORTAL_LANGUAGE_CODES

PORTAL = Path(__file__).resolve().parent.parent
TEMPLATES = PORTAL / "templates" / "portal"
TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
TRANSLATED_BLOCK = re.compile(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", re.S)
HTML_TAG = re.compile(r"<[^>]*>", re.S)
WORDS = re.compile(r"[A-Za-z]{2,}")
# A file name extension, "(.ics)", is the same in every language.
EXTENSION = re.compile(r"\(\.[a-z]{2,4}\)")


def visible_text(source: str) -> str:
    """The template's text nodes and user-facing attributes, with translated parts removed."""
    source = TRANSLATED_BLOCK.sub(" ", source)
    attributes = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', source))
    text = HTML_TAG.sub(" ", source) + " " + attributes
    return EXTENSION.sub(" ", TAG.sub(" ", text))


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES) for p in TEMPLATES.rglob("*.html")), ids=str)
def test_every_visible_string_in_a_portal_template_is_translated(template):
    leftover = WORDS.findall(visible_text((TEMPLATES / template).read_text()))
    assert leftover == [], f"untranslated text in {template}: {leftover}"


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES) for p in TEMPLATES.rglob("*.txt")), ids=str)
def test_every_line_of_a_portal_email_is_translated(template):
    leftover = WORDS.findall(TAG.sub(" ", TRANSLATED_BLOCK.sub(" ", (TEMPLATES / template).read_text())))
    assert leftover == [], f"untranslated text in {template}: {leftover}"


def test_the_checker_notices_an_untranslated_string():
    assert WORDS.findall(visible_text("<p>{% translate 'Fine' %} Not fine</p>")) == ["Not", "fine"]


CATALOGS = ["zh_Hans", "ar", "ru"]
# The other apps whose strings the portal shows (milestone titles, travel, notices, the family summary,
# the shortlisted options).
APPS = ["portal", "travel", "scheduling", "eligibility", "notifications", "options"]
ROOT = PORTAL.parent


def _catalog(app: str, language: str) -> polib.POFile:
    return polib.pofile(str(ROOT / app / "locale" / language / "LC_MESSAGES" / "django.po"))


def _translated(po: polib.POFile) -> set[tuple[str | None, str]]:
    return {(e.msgctxt, e.msgid) for e in po.translated_entries()}


def test_every_portal_language_has_a_catalog():
    assert [code.replace("zh-hans", "zh_Hans") for code in PORTAL_LANGUAGE_CODES if code != "en"] == CATALOGS


@pytest.mark.parametrize("app", APPS)
def test_russian_covers_every_string_chinese_and_arabic_cover(app):
    russian = _catalog(app, "ru")
    assert russian.fuzzy_entries() == []
    for other in ["zh_Hans", "ar"]:
        if app != "portal" and other == "zh_Hans" and app == "eligibility":
            # Chinese centres' staff read the eligibility screens in Chinese; families see only its summary.
            other = "ar"
        missing = _translated(_catalog(app, other)) - _translated(russian)
        assert missing == set(), f"{app}: in {other} but not in Russian: {sorted(missing)[:5]}"


@pytest.mark.parametrize("app", APPS)
def test_each_compiled_catalog_is_newer_than_nothing_it_was_built_from(app):
    """The .mo files are committed: each must hold every translation of its .po (msgfmt was run)."""
    for language in CATALOGS:
        po = _catalog(app, language)
        mo = polib.mofile(str(ROOT / app / "locale" / language / "LC_MESSAGES" / "django.mo"))
        compiled = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in mo}
        stale = [
            e.msgid
            for e in po.translated_entries()
            if compiled.get((e.msgctxt, e.msgid)) != (e.msgstr, e.msgstr_plural if e.msgid_plural else {})
        ]
        assert stale == [], f"{app}/{language}: run msgfmt; stale: {stale[:3]}"


def test_the_catalogs_hold_every_string_of_the_current_source(tmp_path):
    """makemessages over a copy of the portal finds nothing new or changed in any catalog."""
    gaps = untranslated_after_makemessages(PORTAL, CATALOGS, tmp_path)
    assert gaps == {language: [] for language in CATALOGS}, f"new or changed strings without a translation: {gaps}"


@pytest.mark.parametrize("language", CATALOGS)
def test_the_catalog_has_no_empty_or_fuzzy_translation(language):
    po = polib.pofile(str(PORTAL / "locale" / language / "LC_MESSAGES" / "django.po"))
    assert len(po) > 200
    empty = [
        e.msgid
        for e in po
        if (not e.msgstr and not e.msgid_plural) or (e.msgid_plural and not all(e.msgstr_plural.values()))
    ]
    assert empty == []
    assert po.fuzzy_entries() == []
    assert (PORTAL / "locale" / language / "LC_MESSAGES" / "django.mo").stat().st_mtime >= 0


@pytest.mark.parametrize("language", CATALOGS)
def test_placeholders_survive_translation(language):
    po = polib.pofile(str(PORTAL / "locale" / language / "LC_MESSAGES" / "django.po"))
    names = re.compile(r"%\((\w+)\)[sd]")
    for entry in po:
        if entry.msgid_plural:
            continue
        assert set(names.findall(entry.msgid)) == set(names.findall(entry.msgstr)), entry.msgid
