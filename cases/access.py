"""Who may see which case: the one place this is decided.

Every other queryset that holds case data (patients, contacts, documents, milestones,
referrals...) narrows itself through ``case_filter_for`` or ``Case.objects.visible_to``,
so the API, the admin and the portal all apply the same rule:

- coordinators (and supervisors, superusers) see every case;
- a family member sees the cases of the patient whose contact they are linked to;
- hospital staff see the cases referred to their hospital (``Referral.SHARED_STATUSES``: a
  draft is not yet shared, a withdrawn referral no longer is).
"""

from __future__ import annotations

from django.db.models import Q


def _visible_case_ids(user):
    from hospitals.models import Referral

    from .models import Case

    if user.is_family:
        return Case.objects.filter(patient__contacts__user=user).values("pk")
    if user.is_hospital:
        return Referral.objects.filter(hospital_id=user.hospital_id, status__in=Referral.SHARED_STATUSES).values(
            "case_id"
        )
    return None


def case_filter_for(user, prefix: str = "") -> Q | None:
    """A filter on Case, or on a model reaching Case through ``prefix`` (e.g. ``"case__"``).

    ``None`` means no restriction (coordinators). Anonymous, inactive or unknown roles
    get a filter that matches nothing, so a mistake fails closed.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_coordinator:
        return None
    ids = _visible_case_ids(user)
    if ids is None:
        return Q(pk__in=[])
    return Q(**{f"{prefix}pk__in": ids})


def restrict(queryset, user, case_path: str):
    """Narrow any queryset whose rows belong to a case (``case_path`` reaches the Case).

    >>> restrict(Document.objects.all(), user, "case")
    """
    q = case_filter_for(user, prefix=f"{case_path}__" if case_path else "")
    return queryset if q is None else queryset.filter(q)


def can_see_case(user, case) -> bool:
    from .models import Case

    return Case.objects.visible_to(user).filter(pk=case.pk).exists()


def restrict_to_hospital(queryset, user, field: str = "hospital_id", **shared):
    """Narrow rows that belong to a centre (its referrals, API keys, webhook endpoints...).

    Coordinators see every centre's rows, hospital staff their own centre's (further narrowed
    by ``shared``, e.g. only referrals that were sent), anyone else nothing.
    """
    if user is None or not user.is_authenticated or not user.is_active:
        return queryset.none()
    if user.is_coordinator:
        return queryset
    if user.is_hospital:
        return queryset.filter(**{field: user.hospital_id}, **shared)
    return queryset.none()
