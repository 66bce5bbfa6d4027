"""Shortlisted options in plain words for a family, in their language: what it is, whether it is
open, where, and that the doctors decide. No promise, no figures; what would change the answer
is said on the page."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _
from django_countries import countries as country_names

KIND_WORDS = {
    "car_t": lambda: _(
        "A CAR-T therapy: the patient's own immune cells are changed in a laboratory so that they find leukaemia cells."
    ),
    "antibody": lambda: _("A medicine (an antibody) that finds leukaemia cells by a marker on their surface."),
    "bispecific": lambda: _("A medicine that helps the body's own immune cells find leukaemia cells."),
    "transplant": lambda: _("A stem cell transplant: blood-forming cells from a donor replace the patient's own."),
    "other": lambda: _("Another treatment."),
}


@dataclass(frozen=True)
class PlainOption:
    name: str
    sentences: list[str]
    note_en: str


def explain(option) -> PlainOption:
    """The plain sentences about one option, in the active language."""
    sentences = [KIND_WORDS.get(option.kind, KIND_WORDS["other"])()]
    if option.is_trial:
        sentences.append(_("This is a clinical study (a trial): it tests a treatment that is not yet standard."))
    else:
        sentences.append(_("This is an approved treatment."))
    if option.target_antigens:
        sentences.append(
            _("It aims at the marker %(markers)s on leukaemia cells.") % {"markers": " / ".join(option.target_antigens)}
        )
    if option.status in ("RECRUITING", "AVAILABLE", "ENROLLING_BY_INVITATION"):
        sentences.append(_("It is taking patients now."))
    elif option.status == "NOT_YET_RECRUITING":
        sentences.append(_("It will start taking patients soon."))
    else:
        sentences.append(_("It is not taking patients now."))
    if option.countries:
        names = ", ".join(str(country_names.name(code)) or code for code in option.countries)
        sentences.append(_("Where: %(countries)s.") % {"countries": names})
    return PlainOption(name=option.short_name, sentences=sentences, note_en=option.summary_en)
