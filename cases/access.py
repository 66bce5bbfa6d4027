"""Which cases a user sees: the one rule about cases.

- coordinators (and supervisors, superusers) see every case;
- a family member sees the cases of the patient whose contact they are linked to;
- any other party sees the cases shared with it (``CaseShare``): a centre those referred to
  it, while the referral is shared. The app that grants a share (hospitals, for referrals)
  keeps its shares right; this module only reads them;
- anyone else (anonymous, inactive, no role) sees nothing.

Every model holding case data reaches its case through its declared rule (``accounts.access``),
which asks this one.
"""

from __future__ import annotations

from accounts.access import visible
from accounts.roles import Role

from .models import Case, CaseShare


def visible_case_ids(user, role: Role):
    """A subquery of the ids of the cases ``user`` sees, or ``None`` for "every case"
    (coordinators); nobody-sees-anything is an empty subquery."""
    if role is Role.COORDINATOR:
        return None
    if role is Role.FAMILY:
        return Case.objects.filter(patient__contacts__user=user).values("pk")
    if role is Role.HOSPITAL:
        return (
            CaseShare.objects.active()
            .filter(party_kind=CaseShare.Party.CENTRE, party_id=user.hospital_id)
            .values("case_id")
        )
    return Case.objects.none().values("pk")


def can_see_case(user, case) -> bool:
    return visible(Case.objects.all(), user).filter(pk=case.pk).exists()
