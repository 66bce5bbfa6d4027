"""Referrals, packets and centre answers for the demo stories, through the services."""

from __future__ import annotations

from accounts.models import User
from cases import workflow
from cases.demo import DEMO_PASSWORD, demo_user
from hospitals.models import Hospital

from .packets.clinical import clinical_for
from .packets.snapshot import clinical_summary
from .services.referrals import referral_answer, referral_create, referral_send

CENTRES = [
    ("pkuph", "Peking University People's Hospital", "北京大学人民医院", "Beijing"),
    ("ruijin", "Ruijin Hospital, Shanghai Jiao Tong University", "上海交通大学医学院附属瑞金医院", "Shanghai"),
    ("hebei-yanda", "Hebei Yanda Lu Daopei Hospital", "河北燕达陆道培医院", "Langfang"),
]

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
    return {
        "target_centres": [centres["pkuph"], centres["ruijin"]],
        "logins": {"hospital": (dr_li.username, DEMO_PASSWORD)},
    }


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
