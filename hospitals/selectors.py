"""Named reads over centres: a centre's own list of records, what a case still needs for one centre."""

from __future__ import annotations

from documents.selectors import CentreRule, RecordsChecklist, records_needed

from .models import Hospital, RequiredRecord


def centre_rules(*, hospital: Hospital) -> list[CentreRule]:
    """The records a centre requires before it reviews a case, as the documents checklist reads them."""
    return [
        CentreRule(doc_type=r.doc_type, label=r.doc_type_label, note=r.note, max_age_days=r.max_age_days)
        for r in RequiredRecord.objects.filter(hospital=hospital).order_by("doc_type")
    ]


def records_needed_for_centre(*, case, hospital: Hospital) -> RecordsChecklist:
    """The case's checklist (the same one the family's portal and the case page show) with the
    centre's own lines added."""
    return records_needed(case, centre_rules=centre_rules(hospital=hospital))


def timeline_entries(case, limit: int) -> list:
    """Referral moves and packets sent for a case, newest first, for the case timeline (two queries)."""
    from django.urls import reverse

    from cases.selectors import person_name
    from cases.workplace import TimelineEntry

    from . import workflow
    from .models import PacketVersion, ReferralEvent

    events = (
        ReferralEvent.objects.filter(referral__case=case)
        .select_related("referral__hospital", "actor")
        .order_by("-at", "-id")[:limit]
    )
    entries = [
        TimelineEntry(
            at=e.at,
            kind="referral",
            text=f"Referral to {e.referral.hospital.code.upper()}: {workflow.LABELS.get(e.to_status, e.to_status)}"
            + (f" ({e.reason})" if e.reason else ""),
            who=person_name(e.actor) or e.actor_label,
            url=reverse("admin:hospitals_referral_change", args=[e.referral_id]),
        )
        for e in events
    ]
    packets = (
        PacketVersion.objects.filter(referral__case=case)
        .select_related("referral__hospital", "created_by")
        .defer("snapshot", "changes")
        .order_by("-created_at", "-id")[:limit]
    )
    entries += [
        TimelineEntry(
            at=p.created_at,
            kind="packet",
            text=f"Packet version {p.version} for {p.referral.hospital.code.upper()}",
            who=person_name(p.created_by),
            url=reverse("admin:hospitals_referral_change", args=[p.referral_id]),
        )
        for p in packets
    ]
    return entries
