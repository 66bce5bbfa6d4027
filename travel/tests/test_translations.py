"""Families read the travel warnings in their own language: the Chinese, Arabic and Russian
catalogs are complete and compiled, every text marked in the code is in them, and the real
checks and the portal's dates page give translated text, not the English."""

import ast
import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import polib
import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from travel import checks
from travel.checks import LegFacts, StayFacts, TravellerFacts, VisaFacts
from travel.selectors import warnings_for
from travel.tests.helpers import admission, day, journey, leg, stay, traveller

TRAVEL = Path(__file__).resolve().parent.parent
LANGUAGES = ["zh_Hans", "ar", "ru"]
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
# A letter of the language's own script: the text is not the English left in place.
SCRIPT = {
    "zh-hans": re.compile(r"[\u4e00-\u9fff]"),
    "ar": re.compile(r"[\u0600-\u06ff]"),
    "ru": re.compile(r"[\u0400-\u04ff]"),
}


def catalog(language: str) -> polib.POFile:
    return polib.pofile(str(TRAVEL / "locale" / language / "LC_MESSAGES" / "django.po"))


def marked_in_code() -> set[str]:
    """Every literal passed to ``_()``/``gettext``-style calls in the travel app's modules."""
    names = {"_", "gettext", "gettext_lazy", "pgettext", "pgettext_lazy"}
    found = set()
    for path in TRAVEL.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_catalog_has_no_empty_or_fuzzy_translation(language):
    po = catalog(language)
    assert len(po) > 100
    assert not po.metadata_is_fuzzy
    assert po.metadata["Language"] == language
    assert [e.msgid for e in po if not e.msgstr.strip()] == []
    assert [e.msgid for e in po if "fuzzy" in e.flags] == []
    assert po.obsolete_entries() == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_survive_translation(language):
    changed = [
        (e.msgid, e.msgstr)
        for e in catalog(language)
        if sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(e.msgstr))
    ]
    assert changed == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_compiled_catalog_matches_its_source(language):
    po = catalog(language)
    mo = polib.mofile(str(TRAVEL / "locale" / language / "LC_MESSAGES" / "django.mo"))
    assert {e.msgid: e.msgstr for e in mo if e.msgid} == {e.msgid: e.msgstr for e in po}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_text_marked_in_the_code_is_in_the_catalog(language):
    missing = marked_in_code() - {e.msgid for e in catalog(language)}
    assert missing == set(), "run makemessages and translate: " + repr(sorted(missing))


def test_the_code_scanner_finds_the_warning_texts():
    assert "We still need the passport details of %(name)s." in marked_in_code()
    assert "To the centre" in marked_in_code()


# --- the real checks ------------------------------------------------------------------

UTC = dt.UTC
NOW = dt.datetime(2030, 3, 1, 12, tzinfo=UTC)
D0 = dt.date(2030, 3, 20)
EVERY_CODE = {
    "stay_too_short",
    "stay_not_booked",
    "return_too_early",
    "arrives_after_admission",
    "legs_out_of_order",
    "tight_connection",
    "legs_not_connected",
    "visa_refused",
    "visa_not_granted",
    "passport_missing",
    "passport_expired",
    "passport_expires_before_return",
    "passport_six_months",
    "infusion_date_unknown",
}


def flight(id, journey_id, direction, position, origin, destination, departs, arrives):
    return LegFacts(
        id=id,
        journey_id=journey_id,
        direction=direction,
        position=position,
        origin=origin,
        destination=destination,
        departure_at=departs.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC),
        arrival_at=arrives.replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC),
        departure_tz="Asia/Shanghai",
        arrival_tz="Asia/Shanghai",
        label=f"XX{id} {origin}→{destination}",
    )


def every_warning() -> list[checks.TravelWarning]:
    """One of each warning, from the check functions themselves, in the active language."""
    out = [
        flight(1, 1, "outbound", 1, "ALA", "URC", dt.datetime(2030, 3, 10, 8), dt.datetime(2030, 3, 10, 11)),
        flight(2, 1, "outbound", 2, "URC", "PEK", dt.datetime(2030, 3, 10, 11, 30), dt.datetime(2030, 3, 11, 2)),
    ]
    tangled = [
        flight(3, 2, "other", 1, "PEK", "PVG", dt.datetime(2030, 3, 12, 10), dt.datetime(2030, 3, 12, 13)),
        flight(4, 2, "other", 2, "SHA", "CAN", dt.datetime(2030, 3, 12, 12), dt.datetime(2030, 3, 12, 15)),
    ]
    home = [flight(5, 3, "return", 1, "PEK", "ALA", dt.datetime(2030, 4, 1, 9), dt.datetime(2030, 4, 1, 13))]
    legs = out + tangled + home
    return [
        *checks.check_post_infusion_stay(
            infusion_day0=D0, is_estimate=True, stays=[StayFacts(1, "Flat", D0, D0 + dt.timedelta(days=5))], legs=legs
        ),
        *checks.check_post_infusion_stay(infusion_day0=D0, is_estimate=False, stays=[], legs=[]),
        *checks.check_arrival_before_admission(legs=legs, admission_date=dt.date(2030, 3, 10)),
        *checks.check_leg_sequence(legs=legs),
        *checks.check_visas(
            visas=[VisaFacts(1, "OLGA IVANOVA", "refused"), VisaFacts(2, "ANNA IVANOVA", "submitted")],
            legs=legs,
            now=NOW,
        ),
        *checks.check_passports(
            travellers=[
                TravellerFacts(1, "OLGA IVANOVA", False, None),
                TravellerFacts(2, "ANNA IVANOVA", True, dt.date(2030, 2, 1)),
                TravellerFacts(3, "IVAN IVANOV", True, dt.date(2030, 3, 25)),
                TravellerFacts(4, "PETR IVANOV", True, dt.date(2030, 6, 1)),
            ],
            arrival_date=dt.date(2030, 3, 11),
            return_date=dt.date(2030, 4, 1),
            today=NOW.date(),
        ),
        *checks.check_infusion_known(admission_date=dt.date(2030, 3, 10), infusion_day0=None),
    ]


def test_the_scenario_raises_every_kind_of_warning():
    with translation.override("en"):
        assert {w.code for w in every_warning()} == EVERY_CODE


@pytest.mark.parametrize("language", ["zh-hans", "ar", "ru"])
def test_every_warning_reads_in_the_familys_language_not_english(language):
    with translation.override("en"):
        english = every_warning()
    with translation.override(language):
        translated = every_warning()
    assert [w.code for w in translated] == [w.code for w in english]
    for en, tr in zip(english, translated, strict=True):
        assert tr.family_text != en.family_text, en.code
        assert tr.coordinator_text != en.coordinator_text, en.code
        assert SCRIPT[language].search(tr.family_text), (en.code, tr.family_text)
        assert SCRIPT[language].search(tr.coordinator_text), (en.code, tr.coordinator_text)


def test_the_facts_inside_a_translated_warning_are_kept():
    with translation.override("zh-hans"):
        warning = next(w for w in every_warning() if w.code == "stay_too_short")
    assert "2030-03-25" in warning.family_text  # the check-out
    assert "2030-04-17" in warning.family_text  # day 0 + 28
    with translation.override("ar"):
        warning = next(w for w in every_warning() if w.code == "visa_refused")
    assert "OLGA IVANOVA" in warning.family_text


# --- the portal's dates page ----------------------------------------------------------


@pytest.fixture
def short_stay(world):
    """Case A's family flies in, is admitted the next day, and the flat ends too early."""
    traveller(world.case_a, world.alice)
    d = day(30)
    leg(
        journey(world.case_a, world.alice),
        world.alice,
        "SVO",
        "PEK",
        dt.datetime.combine(d, dt.time(19, 15)),
        dt.datetime.combine(d + dt.timedelta(days=1), dt.time(7, 45)),
        flight_number="SU204",
    )
    admission(world.case_a, world.alice, world.pkuph, d + dt.timedelta(days=1))
    stay(world.case_a, world.alice, d + dt.timedelta(days=1), d + dt.timedelta(days=11))
    return world


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["zh-hans", "ar", "ru"])
def test_the_portal_dates_page_shows_the_travel_warnings_in_the_familys_language(client, short_stay, language):
    world = short_stay
    world.ivanova.preferred_language = language
    world.ivanova.save(update_fields=["preferred_language"])
    client.force_login(world.ivanova)

    html = client.get(reverse("portal:schedule", args=[world.case_a.pk])).content.decode()

    english = warnings_for(world.case_a, language="en")
    translated = warnings_for(world.case_a, language=language)
    assert "stay_too_short" in {w.code for w in translated}
    for en, tr in zip(english, translated, strict=True):
        assert escape(tr.family_text) in html
        assert escape(en.family_text) not in html


@pytest.mark.django_db
def test_a_family_whose_language_the_portal_lacks_reads_warnings_in_the_pages_language(client, short_stay):
    # The portal has no Spanish pages: the page is English, and so are its warnings.
    world = short_stay
    world.ivanova.preferred_language = "es"
    world.ivanova.save(update_fields=["preferred_language"])
    client.force_login(world.ivanova)
    response = client.get(reverse("portal:schedule", args=[world.case_a.pk]))
    html = response.content.decode()
    assert '<html lang="en"' in html
    english = warnings_for(world.case_a, language="en")
    assert english
    for en in english:
        assert escape(en.family_text) in html
