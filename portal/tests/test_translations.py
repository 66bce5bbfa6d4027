"""Every string a family can read in the portal's templates is translated, and the
Chinese and Arabic catalogs are complete."""

import re
from pathlib import Path

import polib
import pytest

PORTAL = Path(__file__).resolve().parent.parent
TEMPLATES = PORTAL / "templates" / "portal"
TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}", re.S)
TRANSLATED_BLOCK = re.compile(r"{%\s*blocktranslate.*?{%\s*endblocktranslate\s*%}", re.S)
HTML_TAG = re.compile(r"<[^>]*>", re.S)
WORDS = re.compile(r"[A-Za-z]{2,}")


def visible_text(source: str) -> str:
    """The template's text nodes and user-facing attributes, with translated parts removed."""
    source = TRANSLATED_BLOCK.sub(" ", source)
    attributes = " ".join(re.findall(r'(?:aria-label|title|placeholder|alt)="([^"]*)"', source))
    text = HTML_TAG.sub(" ", source) + " " + attributes
    return TAG.sub(" ", text)


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


@pytest.mark.parametrize("language", ["zh_Hans", "ar"])
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


@pytest.mark.parametrize("language", ["zh_Hans", "ar"])
def test_placeholders_survive_translation(language):
    po = polib.pofile(str(PORTAL / "locale" / language / "LC_MESSAGES" / "django.po"))
    names = re.compile(r"%\((\w+)\)[sd]")
    for entry in po:
        if entry.msgid_plural:
            continue
        assert set(names.findall(entry.msgid)) == set(names.findall(entry.msgstr)), entry.msgid
