"""Reading ClinicalTrials.gov API v2 study records (``GET /api/v2/studies/{nctId}``, or the
``studies`` list of ``GET /api/v2/studies``) into the register's fields.

Pure functions over the JSON: ``parse_study`` checks every field it reads and raises
``StudyError`` naming the field's path (``protocolSection.statusModule.overallStatus``) and what
is wrong, so a bad record is refused as a whole. Field names and enumerations follow the API v2
data structure (https://clinicaltrials.gov/data-api/about-api/study-data-structure).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from django_countries import countries

NCT_ID = re.compile(r"^NCT\d{8}$")
# "18 Years", "1 Year", "6 Months", "4 Weeks", "30 Days" (the API's age format).
AGE = re.compile(r"^(\d{1,3}) (Year|Month|Week|Day|Hour|Minute)s?$")
OVERALL_STATUSES = {
    "ACTIVE_NOT_RECRUITING",
    "COMPLETED",
    "ENROLLING_BY_INVITATION",
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "SUSPENDED",
    "TERMINATED",
    "WITHDRAWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
    "UNKNOWN",
}
# Expanded-access states have no register status of their own.
STATUS_MAP = {
    "NO_LONGER_AVAILABLE": "COMPLETED",
    "TEMPORARILY_NOT_AVAILABLE": "SUSPENDED",
    "APPROVED_FOR_MARKETING": "AVAILABLE",
    "WITHHELD": "UNKNOWN",
}
SEXES = {"ALL", "FEMALE", "MALE"}
STD_AGES = {"CHILD", "ADULT", "OLDER_ADULT"}
INTERVENTION_TYPES = {
    "BEHAVIORAL",
    "BIOLOGICAL",
    "COMBINATION_PRODUCT",
    "DEVICE",
    "DIAGNOSTIC_TEST",
    "DIETARY_SUPPLEMENT",
    "DRUG",
    "GENETIC",
    "PROCEDURE",
    "RADIATION",
    "OTHER",
}
# Country names ClinicalTrials.gov writes that differ from the ISO 3166 short names.
COUNTRY_ALIASES = {
    "United States": "US",
    "Korea, Republic of": "KR",
    "Iran, Islamic Republic of": "IR",
    "Viet Nam": "VN",
    "Taiwan": "TW",
    "Hong Kong": "HK",
    "Macedonia, The Former Yugoslav Republic of": "MK",
    "Moldova, Republic of": "MD",
    "Tanzania": "TZ",
}
ANTIGEN = re.compile(r"\bCD[\s-]?(19|20|22|7|38|123)\b", re.IGNORECASE)
CAR_T = re.compile(r"\bCAR[\s-]?T\b|chimeric antigen receptor", re.IGNORECASE)
B_ALL = re.compile(r"B[\s-]?(cell )?(precursor )?(ALL|acute lymphoblastic)|acute lymphoblastic leuk", re.IGNORECASE)
MRD = re.compile(r"\bMRD\b|minimal residual|measurable residual", re.IGNORECASE)
DAYS_PER_MONTH = 365.25 / 12


class StudyError(ValueError):
    """A record that cannot be imported: ``field`` is the path of the offending field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass
class Study:
    """What the register takes from one study record."""

    nct_id: str
    title: str
    short_name: str
    status: str
    last_update: dt.date | None
    conditions: list[str]
    b_all: bool
    min_age_months: int | None
    max_age_months: int | None
    eligibility_criteria: str
    sex: str
    interventions: list[dict]
    target_antigens: list[str]
    kind: str
    setting: str
    countries: list[str]
    locations: list[dict]
    contacts: list[dict]
    document: dict = field(repr=False)

    @property
    def digest(self) -> str:
        return digest(self.document)

    @property
    def source_url(self) -> str:
        return f"https://clinicaltrials.gov/study/{self.nct_id}"


def digest(document: dict) -> str:
    """SHA-256 of the record in canonical JSON (sorted keys): the same record, the same digest."""
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def studies_in(payload, *, where: str = "") -> list[dict]:
    """The study records of a file or answer: one study, a list of studies, or the API's
    ``{"studies": [...]}`` page."""
    if isinstance(payload, dict) and "studies" in payload:
        payload = payload["studies"]
        where = f"{where}studies"
    if isinstance(payload, dict):
        return [payload]
    if isinstance(payload, list) and payload and all(isinstance(s, dict) for s in payload):
        return payload
    raise StudyError(where or "(document)", 'expected a study object, a list of studies or {"studies": [...]}')


def parse_study(document: dict) -> Study:
    """Check and read one study record; raises ``StudyError`` on the first problem."""
    if not isinstance(document, dict):
        raise StudyError("(study)", "expected an object")
    protocol = _obj(document, "protocolSection", "", required=True)
    ident = _obj(protocol, "identificationModule", "protocolSection.", required=True)
    status_module = _obj(protocol, "statusModule", "protocolSection.", required=True)
    conditions_module = _obj(protocol, "conditionsModule", "protocolSection.", required=True)
    eligibility = _obj(protocol, "eligibilityModule", "protocolSection.")
    arms = _obj(protocol, "armsInterventionsModule", "protocolSection.")
    contacts_locations = _obj(protocol, "contactsLocationsModule", "protocolSection.")

    p = "protocolSection.identificationModule."
    nct_id = _str(ident, "nctId", p, required=True)
    if not NCT_ID.match(nct_id):
        raise StudyError(p + "nctId", f"{nct_id!r} is not an NCT number (NCT followed by 8 digits)")
    title = _str(ident, "briefTitle", p, required=True)
    acronym = _str(ident, "acronym", p)
    official = _str(ident, "officialTitle", p)

    p = "protocolSection.statusModule."
    overall = _str(status_module, "overallStatus", p, required=True)
    if overall not in OVERALL_STATUSES:
        raise StudyError(p + "overallStatus", f"{overall!r} is not one of {', '.join(sorted(OVERALL_STATUSES))}")
    last_update = None
    update_struct = _obj(status_module, "lastUpdatePostDateStruct", p)
    if update_struct:
        last_update = _date(update_struct, "date", p + "lastUpdatePostDateStruct.")

    p = "protocolSection.conditionsModule."
    conditions = _str_list(conditions_module, "conditions", p, required=True)
    keywords = _str_list(conditions_module, "keywords", p)

    p = "protocolSection.eligibilityModule."
    criteria = _str(eligibility, "eligibilityCriteria", p)
    sex = _str(eligibility, "sex", p) or "ALL"
    if sex not in SEXES:
        raise StudyError(p + "sex", f"{sex!r} is not one of ALL, FEMALE, MALE")
    for i, value in enumerate(_str_list(eligibility, "stdAges", p)):
        if value not in STD_AGES:
            raise StudyError(f"{p}stdAges[{i}]", f"{value!r} is not one of CHILD, ADULT, OLDER_ADULT")
    min_age = _age(eligibility, "minimumAge", p)
    max_age = _age(eligibility, "maximumAge", p)
    if min_age is not None and max_age is not None and max_age < min_age:
        raise StudyError(p + "maximumAge", "is below minimumAge")

    interventions = _interventions(arms)
    countries_found, locations = _locations(contacts_locations)
    contacts = _central_contacts(contacts_locations)

    text = " ".join(
        [title, official, *conditions, *keywords, *(f"{i['name']} {i['description']}" for i in interventions)]
    )
    antigens = sorted({f"CD{m.group(1)}" for m in ANTIGEN.finditer(text)}, key=lambda a: int(a[2:]))
    kind = "car_t" if CAR_T.search(text) else _kind_of(interventions)
    return Study(
        nct_id=nct_id,
        title=official or title,
        short_name=(acronym or title)[:120],
        status=STATUS_MAP.get(overall, overall),
        last_update=last_update,
        conditions=conditions,
        b_all=bool(B_ALL.search(" ".join([title, official, *conditions, *keywords]))),
        min_age_months=min_age,
        max_age_months=max_age,
        eligibility_criteria=criteria,
        sex=sex,
        interventions=interventions,
        target_antigens=antigens,
        kind=kind,
        setting="mrd_positive" if MRD.search(" ".join([title, official, *conditions])) else "relapsed_refractory",
        countries=countries_found,
        locations=locations,
        contacts=contacts,
        document=document,
    )


def _kind_of(interventions: list[dict]) -> str:
    names = " ".join(i["name"].lower() for i in interventions)
    if "blinatumomab" in names:
        return "bispecific"
    if "inotuzumab" in names:
        return "antibody"
    if "transplant" in names or any(i["type"] == "PROCEDURE" for i in interventions):
        return "transplant"
    return "other"


def _interventions(arms: dict) -> list[dict]:
    p = "protocolSection.armsInterventionsModule."
    out = []
    for i, item in enumerate(_obj_list(arms, "interventions", p)):
        where = f"{p}interventions[{i}]."
        kind = _str(item, "type", where, required=True)
        if kind not in INTERVENTION_TYPES:
            raise StudyError(where + "type", f"{kind!r} is not an intervention type")
        out.append(
            {
                "type": kind,
                "name": _str(item, "name", where, required=True),
                "description": _str(item, "description", where),
            }
        )
    for i, item in enumerate(_obj_list(arms, "armGroups", p)):
        _str(item, "label", f"{p}armGroups[{i}].", required=True)
    return out


def _locations(module: dict) -> tuple[list[str], list[dict]]:
    p = "protocolSection.contactsLocationsModule."
    codes: list[str] = []
    out = []
    for i, item in enumerate(_obj_list(module, "locations", p)):
        where = f"{p}locations[{i}]."
        name = _str(item, "country", where, required=True)
        code = COUNTRY_ALIASES.get(name) or countries.by_name(name)
        if not code:
            raise StudyError(where + "country", f"{name!r} is not a country name ClinicalTrials.gov uses")
        if code not in codes:
            codes.append(code)
        out.append(
            {
                "facility": _str(item, "facility", where),
                "city": _str(item, "city", where),
                "country": code,
                "status": _str(item, "status", where),
                "contacts": _people(item, where),
            }
        )
    return codes, out


def _central_contacts(module: dict) -> list[dict]:
    return _people(module, "protocolSection.contactsLocationsModule.", key="centralContacts")


def _people(holder: dict, where: str, key: str = "contacts") -> list[dict]:
    out = []
    for i, item in enumerate(_obj_list(holder, key, where)):
        at = f"{where}{key}[{i}]."
        out.append(
            {
                "name": _str(item, "name", at, required=True),
                "role": _str(item, "role", at),
                "email": _str(item, "email", at),
                "phone": _str(item, "phone", at),
            }
        )
    return out


def _obj(holder: dict, key: str, where: str, *, required: bool = False) -> dict:
    value = holder.get(key)
    if value is None:
        if required:
            raise StudyError(where + key, "is missing")
        return {}
    if not isinstance(value, dict):
        raise StudyError(where + key, "expected an object")
    return value


def _obj_list(holder: dict, key: str, where: str) -> list[dict]:
    value = holder.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise StudyError(where + key, "expected a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise StudyError(f"{where}{key}[{i}]", "expected an object")
    return value


def _str(holder: dict, key: str, where: str, *, required: bool = False) -> str:
    value = holder.get(key)
    if value is None or value == "":
        if required:
            raise StudyError(where + key, "is missing or empty")
        return ""
    if not isinstance(value, str):
        raise StudyError(where + key, "expected a string")
    return value.strip()


def _str_list(holder: dict, key: str, where: str, *, required: bool = False) -> list[str]:
    value = holder.get(key)
    if value is None or value == []:
        if required:
            raise StudyError(where + key, "is missing or empty")
        return []
    if not isinstance(value, list):
        raise StudyError(where + key, "expected a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise StudyError(f"{where}{key}[{i}]", "expected a non-empty string")
    return [v.strip() for v in value]


def _date(holder: dict, key: str, where: str) -> dt.date | None:
    value = _str(holder, key, where)
    if not value:
        return None
    try:
        # The API writes full dates (2024-05-01) or, for some, a month (2024-05).
        return dt.date.fromisoformat(value if len(value) == 10 else f"{value}-01")
    except ValueError:
        raise StudyError(where + key, f"{value!r} is not a date (YYYY-MM-DD or YYYY-MM)") from None


def _age(holder: dict, key: str, where: str) -> int | None:
    """An age bound in whole months (a lower bound in weeks or days rounds down)."""
    value = _str(holder, key, where)
    if not value:
        return None
    match = AGE.match(value)
    if not match:
        raise StudyError(where + key, f"{value!r} is not an age such as '18 Years' or '6 Months'")
    number, unit = int(match.group(1)), match.group(2)
    if unit == "Year":
        return number * 12
    if unit == "Month":
        return number
    days = {"Week": 7, "Day": 1, "Hour": 1 / 24, "Minute": 1 / 1440}[unit] * number
    return int(days // DAYS_PER_MONTH)
