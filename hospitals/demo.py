"""Referrals, packets and centre answers for the demo stories, through the services."""

from __future__ import annotations

from cases import workflow
from hospitals.models import Hospital

from .services.referrals import referral_answer, referral_create, referral_send

REFERRED_OR_LATER = {
    workflow.REFERRED,
    workflow.ACCEPTED,
    workflow.TRAVEL,
    workflow.TREATMENT,
    workflow.FOLLOW_UP,
    workflow.TRANSPLANT,
    workflow.DECLINED,
}


def seed_case(*, case, story, rng, actor) -> None:
    if case.status not in REFERRED_OR_LATER:
        return
    pkuph = Hospital.objects.get(code="pkuph")
    staff = pkuph.users.filter(role="hospital").exclude(username__startswith="service").first()
    referral = referral_create(
        case=case, hospital=pkuph, actor=actor, cover_note=f"{story.summary} Family asks for a tele-consultation first."
    )
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
