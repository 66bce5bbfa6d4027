"""Referrals, packets and centre answers for the demo stories, through the services; and the
sandbox centre, where a centre's integrator tries the API and webhooks on synthetic cases in
every state before connecting to a real one."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from cases import workflow
from cases.demo import DEMO_PASSWORD, demo_user
from cases.models import Patient
from cases.services import case_create, patient_create
from hospitals.models import Hospital

from .packets.clinical import clinical_for
from .packets.snapshot import clinical_summary
from .services.credentials import credential_issue
from .services.referrals import (
    referral_acknowledge,
    referral_answer,
    referral_create,
    referral_send,
    referral_start_review,
)

CENTRES = [
    ("pkuph", "Peking University People's Hospital", "北京大学人民医院", "Beijing"),
    ("ruijin", "Ruijin Hospital, Shanghai Jiao Tong University", "上海交通大学医学院附属瑞金医院", "Shanghai"),
    ("hebei-yanda", "Hebei Yanda Lu Daopei Hospital", "河北燕达陆道培医院", "Langfang"),
]
SANDBOX = ("sandbox", "Sandbox Centre (integration testing)", "沙盒中心（集成测试）", "Beijing")
# The states the sandbox centre's referrals are left in, in turn, so an integrator meets each.
SANDBOX_STATES = ["sent", "acknowledged", "under_review", "more_info", "accepted", "declined"]

REFERRED_OR_LATER = {
    workflow.REFERRED,
    workflow.ACCEPTED,
    workflow.TRAVEL,
    workflow.TREATMENT,
    workflow.FOLLOW_UP,
    workflow.TRANSPLANT,
    workflow.DECLINED,
}


def seed_setup() -> dict:
    """The centres and their international departments' logins; PKUPH and Ruijin are the
    demo cases' target centres."""
    centres = {}
    for code, name_en, name_zh, city in CENTRES:
        centres[code], _ = Hospital.objects.get_or_create(
            code=code, defaults={"name_en": name_en, "name_zh": name_zh, "city": city}
        )
    dr_li = demo_user(
        "dr.li",
        User.Role.HOSPITAL,
        hospital=centres["pkuph"],
        first_name="Li",
        last_name="Wei",
        email="intl@pkuph.example",
    )
    demo_user(
        "dr.wang",
        User.Role.HOSPITAL,
        hospital=centres["ruijin"],
        first_name="Wang",
        last_name="Fang",
        email="intl@ruijin.example",
    )
    logins = {"hospital": (dr_li.username, DEMO_PASSWORD)}
    code, name_en, name_zh, city = SANDBOX
    sandbox, _ = Hospital.objects.get_or_create(
        code=code, defaults={"name_en": name_en, "name_zh": name_zh, "city": city}
    )
    integrator = demo_user(
        "sandbox.integrator",
        User.Role.HOSPITAL,
        hospital=sandbox,
        first_name="Sandbox",
        last_name="Integrator",
        email="integrator@sandbox.example",
    )
    logins["sandbox centre"] = (integrator.username, DEMO_PASSWORD)
    coordinator = User.objects.get(username="sam")
    seed_sandbox(centre=sandbox, integrator=integrator, coordinator=coordinator)
    if not sandbox.api_credentials.exists():
        _credential, token = credential_issue(
            hospital=sandbox, actor=coordinator, label="Sandbox integration", user=integrator
        )
        logins["sandbox API key (shown once)"] = ("Authorization: Bearer", token)
    return {"target_centres": [centres["pkuph"], centres["ruijin"]], "logins": logins}


def cover_note_for(clinical: dict) -> str:
    """A demo cover note written from the structured clinical data, so it never says what the
    record does not (a free-text note once said "off immunosuppression, no GvHD" of a patient
    recorded on ciclosporin with active GvHD)."""
    if not clinical:
        return "Clinical profile not recorded yet; records attached. Family asks for a tele-consultation first."
    s = clinical_summary(clinical)
    relapses = len(clinical.get("relapses") or [])
    parts = [
        f"B-ALL, {relapses} relapse{'s' if relapses != 1 else ''} recorded"
        if relapses
        else "B-ALL, no relapse recorded",
        f"CD19 {s['cd19_status']}" + (f" ({s['cd19_date']})" if s["cd19_date"] else ""),
        f"CNS {str(s['cns_status']).upper() if s['cns_status'] != 'unknown' else 'status unknown'}",
        f"Ph {s['ph_status']}" + (f" on {s['current_tki']}" if s["current_tki"] else ""),
        f"{s['prior_lines'] or 0} prior line{'s' if s['prior_lines'] != 1 else ''}",
    ]
    for t in clinical.get("transplants") or []:
        on = t.get("on_immunosuppression")
        gvhd = t.get("active_gvhd")
        parts.append(
            f"{str(t['donor_type']).replace('_', ' ')} SCT {t['date']}: "
            + (
                "on immunosuppression"
                if on
                else "off immunosuppression"
                if on is False
                else "immunosuppression unknown"
            )
            + ", "
            + ("active GvHD" if gvhd else "no active GvHD" if gvhd is False else "GvHD status unknown")
        )
    return "; ".join(parts) + ". Family asks for a tele-consultation first."


def seed_case(*, case, story, rng, actor) -> None:
    if case.status not in REFERRED_OR_LATER:
        return
    pkuph = Hospital.objects.get(code="pkuph")
    staff = pkuph.users.filter(role="hospital").exclude(username__startswith="service").first()
    referral = referral_create(case=case, hospital=pkuph, actor=actor, cover_note=cover_note_for(clinical_for(case)))
    referral_send(referral=referral, actor=actor)
    if staff is None:
        return
    if case.status == workflow.DECLINED:
        referral_answer(
            referral=referral,
            actor=staff,
            decision="decline",
            reason="Active CNS disease (CNS3) is an exclusion in our current protocol.",
        )
    elif case.status != workflow.REFERRED:
        referral_answer(
            referral=referral,
            actor=staff,
            decision="accept",
            note="Accepted for screening; please arrange an admission date.",
        )


SANDBOX_PATIENTS = [
    # (given, family, sex, age in years, country): invented people, for the sandbox only.
    ("Test", "Alpha", "female", 9, "KZ"),
    ("Test", "Bravo", "male", 14, "MN"),
    ("Test", "Charlie", "female", 23, "EG"),
    ("Test", "Delta", "male", 6, "VN"),
    ("Test", "Echo", "female", 31, "SG"),
    ("Test", "Foxtrot", "male", 17, "RU"),
]


def seed_sandbox(*, centre: Hospital, integrator: User, coordinator: User) -> None:
    """Synthetic cases referred to the sandbox centre, one left in each of ``SANDBOX_STATES``,
    answered by the sandbox's integrator. They touch no demo story."""
    today = timezone.localdate()
    for (given, family, sex, age, country), state in zip(SANDBOX_PATIENTS, SANDBOX_STATES, strict=True):
        if Patient.objects.filter(given_name=given, family_name=family).exists():
            continue
        patient = patient_create(
            actor=coordinator,
            data={
                "given_name": given,
                "family_name": family,
                "sex": sex,
                "date_of_birth": today - dt.timedelta(days=int(age * 365.25)),
                "country": country,
                "preferred_language": "en",
            },
        )
        case = case_create(
            patient=patient,
            actor=coordinator,
            coordinator=coordinator,
            summary="Synthetic sandbox case: relapsed B-ALL, CD19-positive (invented data).",
        )
        referral = referral_create(
            case=case, hospital=centre, actor=coordinator, cover_note=cover_note_for(clinical_for(case))
        )
        referral_send(referral=referral, actor=coordinator)
        if state == "acknowledged":
            referral_acknowledge(referral=referral, actor=integrator)
        elif state == "under_review":
            referral_start_review(referral=referral, actor=integrator)
        elif state == "more_info":
            referral_answer(
                referral=referral,
                actor=integrator,
                decision="more_info",
                items=["Bone marrow MRD from the last 30 days"],
            )
        elif state == "accepted":
            referral_answer(referral=referral, actor=integrator, decision="accept", note="Sandbox: accepted.")
        elif state == "declined":
            referral_answer(
                referral=referral, actor=integrator, decision="decline", reason="Sandbox: a declined example."
            )
