"""The ClinicalTrials.gov API v2 importer over fixtures in the documented study format:
complete, minimal, withdrawn and updated records; bad records refused whole, naming the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from audit.models import AuditEvent
from navigator.errors import DomainError
from options import ctgov
from options.models import Option, OptionVersion
from options.services import studies_import

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str) -> dict:
    return json.loads((FIXTURES / f"ctgov_{name}.json").read_text())


def test_a_complete_record_is_read_field_by_field():
    study = ctgov.parse_study(load("complete"))
    assert study.nct_id == "NCT09990001"
    assert study.short_name == "SYN-CD22"
    assert study.title.startswith("A Phase 1/2 Study of CD22-directed")
    assert study.status == "RECRUITING"
    assert str(study.last_update) == "2026-09-03"
    assert (study.min_age_months, study.max_age_months) == (12, 840)
    assert study.b_all is True
    assert study.kind == "car_t"
    assert study.target_antigens == ["CD19", "CD22"]  # the title names CD19 CAR-T as a prior therapy
    assert study.countries == ["CN"]
    assert [loc["city"] for loc in study.locations] == ["Beijing", "Shanghai"]
    assert study.locations[0]["contacts"][0]["email"] == "zhao@synthetic.example"
    assert study.contacts == [
        {
            "name": "Trial Office",
            "role": "CONTACT",
            "email": "cd22-trial@synthetic.example",
            "phone": "+86 10 5555 0100",
        }
    ]
    assert [i["name"] for i in study.interventions] == ["CD22 CAR-T cells", "Fludarabine", "Cyclophosphamide"]
    assert "Active CNS leukaemia (CNS3)" in study.eligibility_criteria


@pytest.mark.parametrize(
    ("text", "months"),
    [("1 Year", 12), ("18 Years", 216), ("6 Months", 6), ("8 Weeks", 1), ("30 Days", 0), ("", None)],
)
def test_ages_in_the_api_format_become_months(text, months):
    assert ctgov._age({"minimumAge": text}, "minimumAge", "") == months


def test_a_complete_record_is_imported_with_its_first_version(world):
    result = studies_import(documents=[load("complete")], actor=world.alice, source="ctgov_complete.json")
    assert result.created == ["NCT09990001"]
    option = Option.objects.get(registry_id="NCT09990001")
    assert option.registry == Option.Registry.CTGOV and option.is_trial
    assert option.status == Option.Status.RECRUITING
    assert option.source_url == "https://clinicaltrials.gov/study/NCT09990001"
    version = option.versions.get()
    assert version.number == 1 and version.document == load("complete")
    assert AuditEvent.objects.filter(object_type="options.Option", object_id=str(option.pk), action="create").exists()


def test_a_minimal_record_imports_without_bounds_or_places(world):
    studies_import(documents=[load("minimal")], actor=world.alice)
    option = Option.objects.get(registry_id="NCT09990002")
    assert option.status == Option.Status.NOT_YET_RECRUITING
    assert (option.min_age_months, option.max_age_months) == (None, None)
    assert option.locations == [] and option.contacts == [] and option.eligibility_criteria == ""
    assert option.kind == "other" and option.setting == "mrd_positive"


def test_a_withdrawn_record_keeps_its_status_and_is_not_open(world):
    studies_import(documents=[load("withdrawn")], actor=world.alice)
    option = Option.objects.get(registry_id="NCT09990003")
    assert option.status == Option.Status.WITHDRAWN and not option.is_open
    assert option.target_antigens == ["CD19", "CD22"] and option.kind == "car_t"


def test_importing_the_same_record_again_changes_nothing(world):
    studies_import(documents=[load("complete")], actor=world.alice)
    again = studies_import(documents=[load("complete")], actor=world.alice)
    assert again.unchanged == ["NCT09990001"] and not again.created and not again.updated
    assert OptionVersion.objects.count() == 1 and Option.objects.count() == 1


def test_an_updated_record_adds_a_version_and_refreshes_the_registry_fields_only(world):
    studies_import(documents=[load("complete")], actor=world.alice)
    option = Option.objects.get(registry_id="NCT09990001")
    Option.objects.filter(pk=option.pk).update(short_name="CD22 CAR-T (Beijing)", prior_cd19_car_t="allowed")
    result = studies_import(documents=[load("updated")], actor=world.alice)
    assert result.updated == ["NCT09990001"]
    option.refresh_from_db()
    assert option.status == Option.Status.ACTIVE_NOT_RECRUITING
    assert option.max_age_months == 65 * 12
    assert option.countries == ["CN", "SG"]
    # What the coordinator curated stays.
    assert option.short_name == "CD22 CAR-T (Beijing)" and option.prior_cd19_car_t == "allowed"
    assert list(option.versions.values_list("number", flat=True)) == [2, 1]
    assert option.versions.get(number=1).document["protocolSection"]["statusModule"]["overallStatus"] == "RECRUITING"
    assert str(option.versions.get(number=2).last_update) == "2026-11-02"


def _broken(path: str, value):
    document = copy.deepcopy(load("complete"))
    *parents, last = path.split(".")
    holder = document
    for key in parents:
        holder = holder[int(key)] if key.isdigit() else holder[key]
    if value is KeyError:
        del holder[last]
    else:
        holder[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("protocolSection", KeyError, "protocolSection"),
        ("protocolSection.identificationModule.nctId", KeyError, "protocolSection.identificationModule.nctId"),
        ("protocolSection.identificationModule.nctId", "NCT123", "protocolSection.identificationModule.nctId"),
        ("protocolSection.identificationModule.briefTitle", "", "protocolSection.identificationModule.briefTitle"),
        ("protocolSection.statusModule.overallStatus", "OPEN", "protocolSection.statusModule.overallStatus"),
        ("protocolSection.statusModule", KeyError, "protocolSection.statusModule"),
        ("protocolSection.conditionsModule.conditions", [], "protocolSection.conditionsModule.conditions"),
        ("protocolSection.eligibilityModule.minimumAge", "eighteen", "protocolSection.eligibilityModule.minimumAge"),
        ("protocolSection.eligibilityModule.maximumAge", "6 Months", "protocolSection.eligibilityModule.maximumAge"),
        ("protocolSection.eligibilityModule.sex", "BOTH", "protocolSection.eligibilityModule.sex"),
        (
            "protocolSection.eligibilityModule.stdAges",
            ["CHILD", "INFANT"],
            "protocolSection.eligibilityModule.stdAges[1]",
        ),
        (
            "protocolSection.eligibilityModule.eligibilityCriteria",
            7,
            "protocolSection.eligibilityModule.eligibilityCriteria",
        ),
        (
            "protocolSection.armsInterventionsModule.interventions",
            [{"type": "PILL", "name": "x"}],
            "protocolSection.armsInterventionsModule.interventions[0].type",
        ),
        (
            "protocolSection.contactsLocationsModule.locations",
            [{"facility": "x", "country": "Atlantis"}],
            "protocolSection.contactsLocationsModule.locations[0].country",
        ),
        (
            "protocolSection.contactsLocationsModule.centralContacts",
            [{"email": "a@b.example"}],
            "protocolSection.contactsLocationsModule.centralContacts[0].name",
        ),
        (
            "protocolSection.statusModule.lastUpdatePostDateStruct",
            {"date": "03/09/2026"},
            "protocolSection.statusModule.lastUpdatePostDateStruct.date",
        ),
    ],
)
def test_a_malformed_record_is_refused_naming_the_field_and_nothing_is_imported(world, path, value, field):
    good = load("minimal")
    with pytest.raises(DomainError) as caught:
        studies_import(documents=[good, _broken(path, value)], actor=world.alice)
    assert caught.value.field == field
    assert caught.value.message.startswith(f"studies[1].{field}: ")
    assert not Option.objects.exists() and not OptionVersion.objects.exists()


def test_the_same_nct_number_twice_in_one_run_is_refused(world):
    with pytest.raises(DomainError, match=r"studies\[1\]: NCT09990001 appears twice"):
        studies_import(documents=[load("complete"), load("updated")], actor=world.alice)
    assert not Option.objects.exists()


def test_a_family_member_cannot_import(world):
    with pytest.raises(DomainError):
        studies_import(documents=[load("complete")], actor=world.ivanova)


def test_the_command_imports_files_and_api_pages(world, capsys):
    call_command("import_ctgov", str(FIXTURES / "ctgov_complete.json"), str(FIXTURES / "ctgov_minimal.json"))
    assert "created 2, updated 0, unchanged 0" in capsys.readouterr().out
    call_command("import_ctgov", str(FIXTURES / "ctgov_updated.json"))
    assert "created 0, updated 1, unchanged 0" in capsys.readouterr().out
    assert Option.objects.get(registry_id="NCT09990001").versions.count() == 2


class _Answer:
    status_code = 200

    def __init__(self, payload):
        self.text = json.dumps(payload)
        self.content = self.text.encode()

    def raise_for_status(self):
        return None


def test_the_command_fetches_a_url_of_the_api(world, capsys, monkeypatch):
    url = "https://clinicaltrials.gov/api/v2/studies?query.cond=B-ALL"
    asked = []

    def fake_get(address, **kwargs):
        asked.append((address, kwargs["timeout"]))
        return _Answer({"studies": [load("complete"), load("withdrawn")], "nextPageToken": "abc"})

    monkeypatch.setattr("options.management.commands.import_ctgov.requests.get", fake_get)
    call_command("import_ctgov", url)
    assert asked == [(url, 30)]
    assert "created 2" in capsys.readouterr().out
    assert set(Option.objects.values_list("registry_id", flat=True)) == {"NCT09990001", "NCT09990003"}


def test_the_command_refuses_a_bad_file_and_imports_none_of_the_run(world, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken("protocolSection.statusModule.overallStatus", KeyError)))
    with pytest.raises(
        CommandError, match=r"nothing imported: studies\[1\]\.protocolSection\.statusModule\.overallStatus"
    ):
        call_command("import_ctgov", str(FIXTURES / "ctgov_complete.json"), str(bad))
    assert not Option.objects.exists()
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(CommandError, match="not JSON"):
        call_command("import_ctgov", str(tmp_path / "broken.json"))
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_ctgov", str(tmp_path / "missing.json"))
