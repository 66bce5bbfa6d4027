"""The way home for the demo's cases in follow-up: a home haematologist (synthetic), the handback,
a link they used, a result they posted, and the follow-up visits (the first one overdue)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from cases import workflow

from .models import HomeHaematologist
from .services import Discharge, haematologist_save, handback_create, link_issue, link_open, result_post


def seed_case(*, case, story, rng, actor) -> None:
    if case.status != workflow.FOLLOW_UP or HomeHaematologist.objects.filter(case=case).exists():
        return
    today = timezone.localdate()
    contact = haematologist_save(
        case=case,
        actor=actor,
        name=case.patient.home_haematologist or "Dr Home",
        centre=case.patient.home_centre,
        email=f"haematology.{case.pk}@home-centre.example",
        language=story.language if story.language in ("en", "zh-hans", "ar", "ru") else "en",
        time_zone=story.tz,
    )
    handback_create(
        case=case,
        actor=actor,
        discharge=Discharge(
            product="CD19 CAR-T (synthetic product)",
            dose="1.0 x 10^6 CAR+ T cells/kg",
            response="CR, MRD-negative by flow cytometry at day 28",
            discharge_date=today - dt.timedelta(days=14),
            crs=[{"grade": 1, "onset": today - dt.timedelta(days=44), "resolved": today - dt.timedelta(days=41)}],
            icans=[],
            medications=[
                {"name": "Aciclovir", "dose": "400 mg twice daily"},
                {"name": "Co-trimoxazole", "dose": "480 mg daily, three days a week"},
            ],
            watch_for=[],
        ),
    )
    _link, token = link_issue(haematologist=contact, actor=actor)
    link = link_open(token=token, page="handback")
    result_post(
        case=case,
        actor=f"home-haematologist:{contact.pk}",
        link=link,
        kind="igg",
        date=today - dt.timedelta(days=2),
        value=Decimal("3.6"),
    )
