"""What the portal pages read. Each page makes a fixed number of queries, whatever the case holds.

Other apps own the data; the portal reads it only through their querysets' ``visible_to``
(or selectors), so the case rule in ``cases.access`` applies here as everywhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import workflow
from cases.models import Case
from navigator import ics

from . import copy, formats

if TYPE_CHECKING:
    from django_stubs_ext import StrPromise


def family_cases(user):
    return Case.objects.visible_to(user).select_related("patient", "coordinator").order_by("-id")


def status_text(case: Case) -> dict:
    title, meaning, default_step = copy.STATUS_TEXT.get(case.status, (case.status_label, "", ""))
    return {"title": title, "meaning": meaning, "default_step": default_step}


def journey(case: Case) -> list[dict]:
    """The main steps, each marked done, current or to come (a side exit marks none current)."""
    rank = workflow.MAIN_PATH.index(case.status) if case.status in workflow.MAIN_PATH else None
    starts = [workflow.MAIN_PATH.index(status) for status, _label in copy.JOURNEY]
    steps = []
    for i, (_status, label) in enumerate(copy.JOURNEY):
        end = starts[i + 1] if i + 1 < len(starts) else len(workflow.MAIN_PATH) - 1
        if rank is None:
            state = "todo"
        elif rank >= end:
            state = "done"
        elif rank >= starts[i] or i == 0:
            state = "current"
        else:
            state = "todo"
        steps.append({"label": label, "state": state})
    return steps


def doc_type_choices() -> list[tuple[str, str | StrPromise]]:
    from documents.models import DocType

    return [(value, copy.DOC_TYPE_LABELS.get(value, label)) for value, label in DocType.choices]


@dataclass
class ChecklistRow:
    key: str
    label: str
    hint: str
    state: str
    state_label: str
    what_to_do: str
    required: bool
    doc_type: str
    due_date: dt.date | None
    rejection_reason: str
    needed: bool = False  # documents.selectors.ChecklistItem.needed: the one answer the admin shows too
    deadline: str = ""

    @property
    def needs_action(self) -> bool:
        return self.needed


def checklist(case: Case) -> list[ChecklistRow]:
    from documents.selectors import checklist_for

    return _checklist_rows(checklist_for(case))


def checklist_with_counts(case: Case) -> tuple[list[ChecklistRow], dict[str, int]]:
    """The checklist and its counts, from the one records checklist the case page and the packet
    builder read too (``documents.selectors.records_needed``): accepted, in review and needed."""
    from documents.selectors import records_needed

    records = records_needed(case)
    counts = {
        "accepted_count": records.satisfied_count,
        "in_review_count": records.in_review_count,
        "needed_count": records.needed_count,
    }
    return _checklist_rows(records.items), counts


def _checklist_rows(items) -> list[ChecklistRow]:
    rows = []
    for item in items:
        label, hint = copy.REQUIREMENT_TEXT.get(item.key, (item.label, item.note))
        state_label, what = copy.CHECKLIST_STATE_TEXT.get(item.state, (item.state, ""))
        if item.state == "missing" and not item.required:
            state_label, what = copy.OPTIONAL_MISSING_TEXT
        rows.append(
            ChecklistRow(
                key=item.key,
                label=str(label),
                hint=str(hint),
                state=item.state,
                state_label=str(state_label),
                what_to_do=str(what),
                required=item.required,
                doc_type=item.doc_types[0] if item.doc_types else "other",
                due_date=item.due_date,
                rejection_reason=item.rejection_reason if item.state == "rejected" else "",
                needed=item.needed,
                deadline=_deadline(item.due_date) if item.due_date else "",
            )
        )
    return rows


def _deadline(day: dt.date) -> str:
    """A records request's date as a deadline: the end of that day for the reader."""
    return formats.deadline_text(formats.end_of_day(day, timezone.get_current_timezone_name()))


def case_documents(case: Case, user):
    """The case's current documents the family may see, newest first (one query)."""
    from documents.models import Document

    documents = list(
        Document.objects.visible_to(user)
        .filter(case=case)
        .current()
        .only(
            "id",
            "doc_type",
            "clinical_date",
            "review_status",
            "rejection_reason",
            "original_name",
            "created_at",
            "source",
        )
        .order_by("-id")[:200]
    )
    types = dict(doc_type_choices())
    for d in documents:
        d.type_label = types.get(d.doc_type, d.doc_type)
        d.status_label = copy.REVIEW_STATUS_TEXT.get(d.review_status, d.review_status)
        # A file the family sent and nobody has started reviewing: they may relabel or withdraw it.
        d.family_can_fix = d.source == "family" and d.review_status == "received"
    return documents


def upcoming_milestones(case: Case, user, *, limit: int = 50) -> list:
    """Open dates the family should know about (those marked as concerning the family)."""
    from scheduling.models import Milestone

    since = timezone.now() - dt.timedelta(days=1)
    milestones = list(
        Milestone.objects.visible_to(user)
        .open()
        .filter(case=case, concerns_family=True, due_at__gte=since)
        .select_related("hospital")
        .order_by("due_at", "id")[:limit]
    )
    _label_milestones(milestones, case)
    return milestones


def _label_milestones(milestones: list, case: Case | None = None) -> None:
    """Give each milestone a ``label`` in the family's language and a ``hospital_name``.

    Milestone titles are written by the apps in English for coordinators; families read the
    kind of date instead (translated), or for a records request the record in family words.
    A coordinator's own appointment ("other") keeps the title they wrote. One query at most.
    """
    from django.utils.translation import get_language

    from documents.models import DocumentRequest

    request_ids = {
        int(m.key.rpartition(":")[2])
        for m in milestones
        if m.kind == "document_request" and m.key.rpartition(":")[2].isdigit()
    }
    doc_types = (
        dict(
            DocumentRequest.objects.filter(pk__in=request_ids, case_id__in={m.case_id for m in milestones}).values_list(
                "pk", "doc_type"
            )
        )
        if request_ids
        else {}
    )
    from scheduling.services import milestone_centre_day, milestone_period_start

    chinese = (get_language() or "").startswith("zh")
    patient = getattr(case, "patient", None)
    adult = bool(patient and patient.date_of_birth and patient.age(timezone.localdate()) >= 18)
    for m in milestones:
        # Pathway dates are all-day dates on the treating centre's calendar, not clock times.
        m.day = milestone_centre_day(m)
        m.period_start = milestone_period_start(m)
        suffix = m.key.rpartition(":")[2]
        m.deadline = ""
        if m.kind == "document_request" and suffix.isdigit() and int(suffix) in doc_types:
            record = copy.DOC_TYPE_LABELS.get(doc_types[int(suffix)], "")
            m.label = _("Records due: %(record)s") % {"record": record}
            # A deadline (the end of a day where the person asked lives), in the reader's zone.
            m.deadline = formats.deadline_text(m.due_at)
        elif m.kind == "travel":
            m.label = str(copy.TRAVEL_MILESTONE_TEXT.get(m.key.partition(":")[0], m.get_kind_display()))
        elif m.kind == "other":
            m.label = m.title
        elif m.kind == "stay_near_centre" and m.day:
            m.label = _("Stay near the treating centre until at least %(date)s") % {"date": _date(m.day)}
        elif m.kind == "transplant_window" and m.day:
            if adult:
                m.label = _(
                    "Aim to transplant by %(date)s (planning target). For adults, a transplant after CAR-T is "
                    "strongly recommended; the treating team sets the actual date."
                ) % {"date": _date(m.day)}
            else:
                m.label = _(
                    "Aim to transplant by %(date)s (planning target). The doctors' team recommended a transplant "
                    "for your child; the treating team sets the actual date."
                ) % {"date": _date(m.day)}
        else:
            m.label = str(m.get_kind_display())
        hospital = m.hospital if m.hospital_id else None
        m.hospital_name = (
            (hospital.name_zh or hospital.name_en) if hospital and chinese else getattr(hospital, "name_en", "")
        )


@dataclass
class NextStep:
    text: str
    detail: str = ""
    url: str = ""
    link_text: str = ""


def next_step(case: Case, rows: list[ChecklistRow], milestones: list, unread_messages: int = 0) -> NextStep:
    """The ONE thing the family should do now, most urgent first."""
    upload = reverse("portal:upload", args=[case.pk])
    for state in ("rejected", "overdue", "requested"):
        row = next((r for r in rows if r.state == state), None)
        if row is None:
            continue
        if state == "rejected":
            return NextStep(
                _("Send a new copy of: %(record)s") % {"record": row.label},
                _("Why we could not use the last one: %(reason)s") % {"reason": row.rejection_reason},
                f"{upload}?type={row.doc_type}",
                _("Send it now"),
            )
        detail = row.hint
        if row.deadline:
            detail = _("Please send it %(deadline)s.") % {"deadline": row.deadline}
        return NextStep(
            _("Send: %(record)s") % {"record": row.label}, detail, f"{upload}?type={row.doc_type}", _("Send it now")
        )
    if unread_messages:
        return NextStep(
            _("Read the new message from your coordinator."),
            "",
            reverse("portal:messages", args=[case.pk]),
            _("Open messages"),
        )
    if case.status in (workflow.INQUIRY, workflow.RECORDS):
        row = next((r for r in rows if r.state == "missing" and r.required), None)
        if row is not None:
            return NextStep(
                _("Send: %(record)s") % {"record": row.label},
                row.hint,
                f"{upload}?type={row.doc_type}",
                _("Send it now"),
            )
    soon = timezone.now() + dt.timedelta(days=14)
    milestone = next((m for m in milestones if m.due_at <= soon), None)
    if milestone is not None:
        return NextStep(
            _("Get ready for: %(title)s") % {"title": milestone.label},
            _("On %(when)s.")
            % {"when": _date(milestone.day) if getattr(milestone, "day", None) else _datetime(milestone.due_at)},
            reverse("portal:schedule", args=[case.pk]),
            _("See all dates"),
        )
    return NextStep(str(status_text(case)["default_step"]))


def _date(value: dt.date) -> str:
    from django.utils.formats import date_format

    return date_format(value, "DATE_FORMAT")


def _datetime(value: dt.datetime) -> str:
    from django.utils.formats import date_format

    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def upload_endpoint() -> str:
    """The documents app's tus endpoint (its creation URL)."""
    from django.urls import NoReverseMatch

    for name in ("upload-list", "documents:upload-list", "uploads"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return "/api/v1/uploads/"


# --- Messages with the coordinator (the messaging app's family thread) ------------------------


def _family_thread(case: Case, user):
    from messaging.models import Thread

    return Thread.objects.visible_to(user).filter(case=case, kind=Thread.Kind.FAMILY).first()


def unread_message_count(case: Case, user) -> int:
    """Messages from the coordinator (or Navigator) newer than the family's read mark."""
    from messaging.models import Message

    from .models import MessageReadMark

    mark = MessageReadMark.objects.filter(user=user, case=case).values_list("read_at", flat=True).first()
    qs = (
        Message.objects.visible_to(user)
        .filter(thread__case=case, thread__kind="family", translation_of=None)
        .exclude(side=Message.Side.FAMILY)
    )
    if mark is not None:
        qs = qs.filter(created_at__gt=mark)
    return qs.count()


def message_context(case: Case, user, *, limit: int = 200) -> dict:
    """The family thread's messages, oldest first, each in the family's language when a
    translation exists. (The page marks them read: ``services.messages_mark_read``.)"""
    from django.db.models import Prefetch
    from django.utils import translation

    from messaging.models import Message

    language = translation.get_language()
    thread = _family_thread(case, user)
    rows = []
    if thread is not None:
        messages = list(
            Message.objects.filter(thread=thread, translation_of=None)
            .select_related("author")
            .prefetch_related(Prefetch("translations", queryset=Message.objects.order_by("-created_at")))
            .order_by("-created_at", "-id")[:limit]
        )
        messages.reverse()
        names = _family_names(case, {m.author_id for m in messages if m.side == "family" and m.author_id})
        for m in messages:
            translated = next((t for t in m.translations.all() if _same_language(t.language, language)), None)
            rows.append(
                {
                    "id": m.pk,
                    "mine": m.author_id == user.pk,
                    "side": m.side,
                    "author": _author_label(m, user, names),
                    "sent_at": m.created_at,
                    "body": translated.body if translated else m.body,
                    "original": m.body if translated else "",
                }
            )
    return {"thread_messages": rows, "messaging_available": True}


def _same_language(a: str, b: str) -> bool:
    return (a or "").lower().split("-")[0] == (b or "").lower().split("-")[0]


def _family_names(case: Case, user_ids: set[int]) -> dict[int, str]:
    """The names the coordinator knows the family's writers by (the family contact), one query."""
    from cases.models import FamilyContact

    if not user_ids:
        return {}
    rows = FamilyContact.objects.filter(patient_id=case.patient_id, user_id__in=user_ids).values_list("user_id", "name")
    return {user_id: name for user_id, name in rows if name}


def _author_label(message, user, names: dict[int, str] | None = None) -> str:
    if message.side == "system":
        return _("Navigator")
    if message.side == "coordinator":
        name = message.author.get_full_name() if message.author else ""
        return _("%(name)s (coordinator)") % {"name": name} if name else _("Your coordinator")
    if message.side == "family":
        if message.author_id == user.pk:
            return _("You")
        if message.author is None:
            return _("Family")
        # Never the login name: the contact's name, else the name on the account, else "Family".
        return (names or {}).get(message.author_id) or message.author.get_full_name() or _("Family")
    return _("Hospital")


# --- Travel (the travel app's itinerary) ------------------------------------------------------


@dataclass
class TravelItem:
    kind: str
    title: str
    starts_at: dt.datetime
    detail: str = ""
    ends_at: dt.datetime | None = None
    uid: str = ""
    all_day: bool = False

    @property
    def calendar_item(self) -> CalendarItem:
        return CalendarItem(
            uid=self.uid,
            title=self.title,
            starts_at=self.starts_at,
            ends_at=self.ends_at,
            location=self.detail,
            all_day=self.all_day,
        )


def travel_plan(case: Case, user) -> dict:
    """Upcoming flights, stays, pickups and admissions, and the travel warnings, for the family."""
    from travel.selectors import itinerary_for

    data = itinerary_for(case, user)
    items: list[TravelItem] = []
    now = timezone.now() - dt.timedelta(days=1)
    for journey_data in data.get("journeys", []):
        for leg in journey_data.get("legs", []):
            starts = _parse_dt(leg.get("departure_utc"))
            if starts is None or starts < now:
                continue
            origin, destination = _city(leg["origin"]), _city(leg["destination"])
            flight = f"{leg.get('carrier', '')} {leg.get('flight_number', '')}".strip()
            lines = [
                _("Departs %(time)s, local time in %(city)s")
                % {"time": _local_text(leg.get("departure_local")), "city": formats.isolate(origin)},
            ]
            if leg.get("arrival_local"):
                lines.append(
                    _("Arrives %(time)s, local time in %(city)s")
                    % {"time": _local_text(leg.get("arrival_local")), "city": formats.isolate(destination)}
                )
            items.append(
                TravelItem(
                    kind="flight",
                    # Each name is isolated, so a right-to-left page keeps the route's order.
                    title=_("Flight %(flight)s: %(origin)s → %(destination)s")
                    % {
                        "flight": formats.isolate(flight),
                        "origin": formats.isolate(origin),
                        "destination": formats.isolate(destination),
                    },
                    starts_at=starts,
                    ends_at=_parse_dt(leg.get("arrival_utc")),
                    detail="\n".join(lines),
                    uid=ics.event_uid(ics.TRAVEL_LEG, leg["id"]),
                )
            )
    for stay in data.get("accommodations", []):
        day = _parse_day(stay.get("check_in"))
        if day is None:
            continue
        items.append(
            TravelItem(
                kind="stay",
                title=_("Check in: %(name)s") % {"name": stay.get("name", "")},
                starts_at=day,
                detail=", ".join(x for x in (stay.get("address"), stay.get("city")) if x),
                uid=ics.event_uid(ics.TRAVEL_ACCOMMODATION, stay["id"]),
                all_day=True,
            )
        )
    for pickup in data.get("pickups", []):
        starts = _parse_dt(pickup.get("meet_local"))
        if starts is None:
            continue
        items.append(
            TravelItem(
                kind="pickup",
                title=_("Airport pickup at %(airport)s") % {"airport": formats.isolate(_city(pickup["airport"]))},
                starts_at=starts,
                detail=pickup.get("driver_name", ""),
                uid=ics.event_uid(ics.TRAVEL_PICKUP, pickup["id"]),
            )
        )
    for admission in data.get("admissions", []):
        day = _parse_day(admission.get("admission_date"))
        if day is None:
            continue
        items.append(
            TravelItem(
                kind="admission",
                title=_("Admission to %(hospital)s") % {"hospital": admission["hospital"]["name"]},
                starts_at=day,
                detail=admission.get("ward", ""),
                uid=ics.event_uid(ics.TRAVEL_ADMISSION, admission["id"]),
                all_day=True,
            )
        )
    items = [i for i in items if i.starts_at >= now]
    items.sort(key=lambda i: i.starts_at)
    return {"items": items, "warnings": data.get("warnings", [])}


def travel_items(case: Case, user) -> list[TravelItem]:
    return travel_plan(case, user)["items"]


def _parse_dt(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else timezone.make_aware(parsed)


def _parse_day(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return None
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9, 0)))


def _local_text(value: str | None) -> str:
    """A wall-clock time where it happens: "Friday 5 December, 19:15"."""
    if not value:
        return ""
    parsed = dt.datetime.fromisoformat(value)
    return _("%(day)s, %(time)s") % {"day": formats.day_text(parsed.date()), "time": formats.time_text(parsed)}


def _city(airport: dict) -> str:
    """The airport's city in the page's language where known, else the airport data's name or code."""
    known = copy.CITY_BY_AIRPORT.get(airport.get("iata") or "")
    return str(known) if known else (airport.get("city") or airport.get("iata") or "")


# --- Calendar ---------------------------------------------------------------------------------


@dataclass
class CalendarItem:
    uid: str
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime | None = None
    location: str = ""
    all_day: bool = False
    # A date on the centre's calendar (all-day), and the last day of a period (inclusive).
    day: dt.date | None = None
    last_day: dt.date | None = None


def calendar_items(case: Case, user, *, milestone_id: int | None = None) -> list[CalendarItem]:
    items = []
    for m in upcoming_milestones(case, user, limit=500):
        if milestone_id is not None and m.pk != int(milestone_id):
            continue
        items.append(
            CalendarItem(
                uid=ics.event_uid(ics.MILESTONE, m.pk),
                title=m.label,
                starts_at=m.due_at,
                location=m.hospital_name,
                day=m.period_start or m.day,
                last_day=m.day,
            )
        )
    if milestone_id is None:
        for item in travel_items(case, user):
            items.append(item.calendar_item)
    return items


def ics_for(case: Case, items: list[CalendarItem]) -> bytes:
    cal = ics.new_calendar(
        prodid="-//Navigator//Family portal//EN", name=_("Navigator: %(reference)s") % {"reference": case.reference}
    )
    stamp = timezone.now()
    for item in items:
        ics.add_event(
            cal,
            uid=item.uid,
            stamp=stamp,
            summary=item.title,
            start=item.day or (timezone.localtime(item.starts_at).date() if item.all_day else item.starts_at),
            end=(
                (item.last_day or item.day) + dt.timedelta(days=1)
                if item.day
                else (None if item.all_day else item.ends_at)
            ),
            location=item.location,
        )
    return ics.to_bytes(cal)


# --- Eligibility (the summary a coordinator published) ------------------------------------------


def eligibility_summary(case: Case, user):
    """The published family summary in the family's language, else English, else any language."""
    from django.utils import translation

    from eligibility.models import FamilySummary

    summaries = list(
        FamilySummary.objects.visible_to(user).published().filter(case=case).order_by("-published_at")[:20]
    )
    if not summaries:
        return None
    language = translation.get_language()
    chosen = (
        next((s for s in summaries if s.language == language), None)
        or next((s for s in summaries if s.language == "en"), None)
        or summaries[0]
    )
    return {
        "title": _("Summary of the first eligibility check"),
        "text": chosen.text,
        "published_at": chosen.published_at,
        "language": chosen.language,
        "other_language": chosen.language != language,
    }
