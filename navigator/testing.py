"""A small world of named people for tests in every app.

- alice, bob: coordinators; sam: supervising coordinator
- ivanova: family member of case_a (patient Misha Ivanov)
- chen: family member of case_b (patient Chen Xiaoming); must never see case_a
- dr_li: hospital user at PKUPH, to which case_a was referred (sent)
- dr_wang: hospital user at Ruijin, which has seen nothing
"""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from cases.factories import CaseFactory, ContactFactory, PatientFactory, UserFactory
from cases.models import Case, FamilyContact, Patient
from hospitals.factories import HospitalFactory, ReferralFactory
from hospitals.models import Hospital, Referral


@dataclass
class World:
    alice: User
    bob: User
    sam: User
    ivanova: User
    chen: User
    dr_li: User
    dr_wang: User
    pkuph: Hospital
    ruijin: Hospital
    case_a: Case
    case_b: Case
    patient_a: Patient
    patient_b: Patient
    contact_a: FamilyContact
    contact_b: FamilyContact
    referral_a: Referral


def make_world() -> World:
    alice = UserFactory(username="alice", role=User.Role.COORDINATOR, is_staff=True)
    bob = UserFactory(username="bob", role=User.Role.COORDINATOR, is_staff=True)
    sam = UserFactory(username="sam", role=User.Role.SUPERVISOR, is_staff=True)
    pkuph = HospitalFactory(code="pkuph", name_en="Peking University People's Hospital", name_zh="北京大学人民医院")
    ruijin = HospitalFactory(code="ruijin", name_en="Ruijin Hospital", name_zh="瑞金医院", city="Shanghai")
    dr_li = UserFactory(username="dr_li", role=User.Role.HOSPITAL, hospital=pkuph)
    dr_wang = UserFactory(username="dr_wang", role=User.Role.HOSPITAL, hospital=ruijin)
    ivanova = UserFactory(username="ivanova", role=User.Role.FAMILY, preferred_language="ru", time_zone="Asia/Almaty")
    chen = UserFactory(username="chen", role=User.Role.FAMILY, preferred_language="zh-hans", time_zone="Asia/Shanghai")

    patient_a = PatientFactory(given_name="Misha", family_name="Ivanov", native_name="Миша Иванов")
    patient_b = PatientFactory(
        given_name="Xiaoming",
        family_name="Chen",
        native_name="陈小明",
        country="SG",
        preferred_language="zh-hans",
        time_zone="Asia/Singapore",
    )
    contact_a = ContactFactory(patient=patient_a, name="Olga Ivanova", user=ivanova, is_primary=True)
    contact_b = ContactFactory(
        patient=patient_b,
        name="Chen Li",
        user=chen,
        language="zh-hans",
        time_zone="Asia/Singapore",
        phone="+6591234567",
        is_primary=True,
    )
    case_a = CaseFactory(patient=patient_a, coordinator=alice)
    case_b = CaseFactory(patient=patient_b, coordinator=bob)
    referral_a = ReferralFactory(case=case_a, hospital=pkuph)
    return World(
        alice,
        bob,
        sam,
        ivanova,
        chen,
        dr_li,
        dr_wang,
        pkuph,
        ruijin,
        case_a,
        case_b,
        patient_a,
        patient_b,
        contact_a,
        contact_b,
        referral_a,
    )


def admin_form_data(response) -> dict:
    """The POST data a browser would send back for an admin change form, as rendered.

    Every inline formset's management form and rows are included, so a test changes
    only what it means to change.
    """

    def values(form):
        data = {}
        for name in form.fields:
            value = form[name].value()
            if value is None:
                continue
            key = form.add_prefix(name)
            if isinstance(value, (list, tuple)):
                data[key] = [str(v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            else:
                data[key] = str(value)
        return data

    context = response.context
    data = values(context["adminform"].form)
    for inline in context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(values(formset.management_form))
        for form in formset.forms:
            data.update(values(form))
    # Each section of the case page rendered in it says so with a hidden "_section" (cases/admin.py).
    workplace = context.get("workplace") or {}
    sections = [tab["key"] for tab in workplace.get("tabs", []) if tab["body"]]
    if sections:
        data["_section"] = sections
    return data


# --- accessibility -------------------------------------------------------------------------------

# WCAG 2.1 levels A and AA, as axe-core tags them.
AXE_WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
AXE_BLOCKING_IMPACTS = ("critical", "serious")


def axe_violations(page, *, impacts=AXE_BLOCKING_IMPACTS, exclude: list[str] | None = None) -> list[dict]:
    """axe-core's WCAG 2.1 A/AA violations on the page a Playwright ``page`` shows, keeping
    those of the given impacts (by default the ones that block: critical and serious).

    ``exclude`` lists CSS selectors axe should not look into. Use with ``axe_report`` for a
    readable assertion message::

        violations = axe_violations(page)
        assert not violations, axe_report(violations)
    """
    from axe_playwright_python.sync_playwright import Axe

    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    options = {"runOnly": {"type": "tag", "values": list(AXE_WCAG_TAGS)}, "resultTypes": ["violations"]}
    results = Axe().run(page, context=context, options=options)
    return [v for v in results.response["violations"] if v.get("impact") in impacts]


def axe_report(violations: list[dict]) -> str:
    """One line per violation and up to three offending elements each."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['impact']}: {violation['id']} ({violation['help']}), {len(violation['nodes'])} element(s)"
        )
        for node in violation["nodes"][:3]:
            lines.append(f"    {' '.join(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)


def redis_db_url(url: str, db: int) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def worker_redis_url(base: str, worker: str) -> str:
    """The Redis database of pytest-xdist worker ``gw<n>``: the base database's number + 8 + n."""
    from urllib.parse import urlsplit

    base_db = int(urlsplit(base).path.strip("/") or 0)
    return redis_db_url(base, (base_db + 8 + int(worker.removeprefix("gw"))) % 16)


def untranslated_after_makemessages(app_dir, languages, tmp_path) -> dict[str, list[str]]:
    """Run makemessages over a copy of an app (tests and compiled catalogs left out) and return, per
    language, the strings of the current source its catalog lacks or marks fuzzy."""
    import os
    import shutil

    import polib
    from django.core.management import call_command

    copy = tmp_path / app_dir.name
    shutil.copytree(app_dir, copy, ignore=shutil.ignore_patterns("tests", "__pycache__", "*.mo"))
    before = os.getcwd()
    os.chdir(copy)
    try:
        call_command("makemessages", locale=list(languages), verbosity=0)
    finally:
        os.chdir(before)
    gaps = {}
    for language in languages:
        po = polib.pofile(str(copy / "locale" / language / "LC_MESSAGES" / "django.po"))
        gaps[language] = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    return gaps
