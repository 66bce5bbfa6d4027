"""Reads of the options app: a case's facts for the pre-filter, the register screened against
them, why options are offered on a case, and what a family is shown."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from cases.models import Case
from eligibility import rules
from eligibility.models import Assessment, Cd19Result, ClinicalProfile, CnsAssessment, Relapse, TherapyLine
from hospitals.models import Referral
from scheduling.models import TreatmentEvent

from .matching import CHECK, IN, OUT, OptionFacts, PatientFacts, Screen, screen
from .models import Option, ShortlistEntry

# A CD19-directed line that was CAR-T (not blinatumomab): by name of the product or the therapy.
CAR_T_REGIMEN = re.compile(
    r"CAR[\s-]?T|chimeric antigen|tisagenlecleucel|kymriah|brexucabtagene|tecartus|obecabtagene|relmacabtagene",
    re.IGNORECASE,
)
# The service's usual destination: centres in China (the guide), besides the family's own country.
DEFAULT_DESTINATIONS = frozenset({"CN"})


def _months_between(born: dt.date, on: dt.date) -> int:
    months = (on.year - born.year) * 12 + on.month - born.month
    return months - 1 if on.day < born.day else months


def patient_facts(case: Case, *, countries: frozenset[str] | None = None, today: dt.date | None = None) -> PatientFacts:
    """The case's facts the pre-filter reads: age, lineage, the most recent CD19 result, a prior
    CD19 CAR-T (a recorded CD19-directed CAR-T line, or an infusion through this service), the
    most recent CNS status; ``countries`` the family would travel to (default: China and home)."""
    today = today or timezone.localdate()
    profile = ClinicalProfile.objects.filter(case=case).first()
    lineage, cd19, cns, prior = "unknown", None, None, False
    if profile is not None:
        lineage = profile.diagnosis_lineage
        latest = Cd19Result.objects.filter(profile=profile).order_by("-sample_date", "-id").first()
        cd19 = latest.status if latest else None
        latest_cns = CnsAssessment.objects.filter(profile=profile).order_by("-date", "-id").first()
        cns = latest_cns.status if latest_cns else None
        lines = TherapyLine.objects.filter(profile=profile, cd19_directed=True).values_list("regimen", flat=True)
        prior = any(CAR_T_REGIMEN.search(regimen) for regimen in lines)
    prior = (
        prior
        or TreatmentEvent.objects.filter(
            case=case, kind=TreatmentEvent.Kind.INFUSION, status=TreatmentEvent.Status.DONE
        ).exists()
    )
    if countries is None:
        countries = DEFAULT_DESTINATIONS | {str(case.patient.country)}
    return PatientFacts(
        age_months=_months_between(case.patient.date_of_birth, today) if case.patient.date_of_birth else None,
        lineage=lineage,
        cd19=cd19,
        prior_cd19_car_t=prior,
        cns=cns,
        countries=countries,
    )


@dataclass(frozen=True)
class Screened:
    option: Option
    screen: Screen
    shortlisted: ShortlistEntry | None


ORDER = {IN: 0, CHECK: 1, OUT: 2}


def options_screened(case: Case, facts: PatientFacts) -> list[Screened]:
    """Every register entry with the pre-filter's result for this case, in first, then to
    check, then out; a fixed number of queries whatever the register's size."""
    current = {e.option_id: e for e in ShortlistEntry.objects.current().filter(case=case)}
    rows = [
        Screened(option=o, screen=screen(OptionFacts.of(o), facts), shortlisted=current.get(o.pk))
        for o in Option.objects.select_related("trial_team").order_by("short_name", "id")
    ]
    return sorted(rows, key=lambda r: (ORDER[r.screen.result], r.option.short_name))


def offer_reasons(case: Case) -> list[str]:
    """Why options should be looked at for this case (empty: no reason yet): the base
    pre-screen says "not eligible" or "needs specialist review", a centre declined, or the
    disease relapsed after a CAR-T infusion."""
    reasons = []
    latest = Assessment.objects.filter(case=case, centre=None).order_by("-created_at", "-id").first()
    if latest is not None and latest.verdict in (rules.NOT_ELIGIBLE, rules.NEEDS_SPECIALIST_REVIEW):
        reasons.append(f"Pre-screen: {latest.get_verdict_display()}")
    declined = Referral.objects.filter(case=case, status=Referral.Status.DECLINED).select_related("hospital")
    reasons += [f"Declined by {r.hospital}" for r in declined]
    infusion = TreatmentEvent.objects.filter(
        case=case, kind=TreatmentEvent.Kind.INFUSION, status=TreatmentEvent.Status.DONE
    ).first()
    if infusion is not None:
        relapse = Relapse.objects.filter(profile__case=case, date__gt=infusion.occurred_on).order_by("date").first()
        if relapse is not None:
            reasons.append(f"Relapse after CAR-T on {relapse.date:%Y-%m-%d}")
    return reasons


def with_offer_flags(cases: QuerySet[Case]) -> QuerySet[Case]:
    """Cases annotated with why options would be offered (three booleans), for lists and filters;
    a constant number of queries (correlated subqueries)."""
    latest = Assessment.objects.filter(case=OuterRef(OuterRef("pk")), centre=None).order_by("-created_at", "-id")
    infusions = TreatmentEvent.objects.filter(
        case=OuterRef(OuterRef("pk")), kind=TreatmentEvent.Kind.INFUSION, status=TreatmentEvent.Status.DONE
    )
    return cases.annotate(
        offer_prescreen=Exists(
            Assessment.objects.filter(
                pk__in=latest.values("pk")[:1], verdict__in=(rules.NOT_ELIGIBLE, rules.NEEDS_SPECIALIST_REVIEW)
            )
        ),
        offer_declined=Exists(Referral.objects.filter(case=OuterRef("pk"), status=Referral.Status.DECLINED)),
        offer_relapse=Exists(
            Relapse.objects.filter(profile__case=OuterRef("pk")).filter(
                Exists(infusions.filter(occurred_on__lt=OuterRef("date")))
            )
        ),
    )


def offer_filter() -> Q:
    return Q(offer_prescreen=True) | Q(offer_declined=True) | Q(offer_relapse=True)


def family_options(case: Case, user) -> QuerySet[ShortlistEntry]:
    """The shortlisted options the family was shown, as the access rule lets ``user`` see them."""
    return (
        ShortlistEntry.objects.visible_to(user)
        .filter(case=case, shared_with_family=True, removed_at=None)
        .select_related("option")
        .order_by("created_at", "id")
    )
