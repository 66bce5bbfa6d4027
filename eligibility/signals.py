"""Re-running the pre-screen when data it reads changes outside this app.

The clinical profile's own edits re-run it through ``services`` (``_rerun_on_commit``). Two
inputs live in the cases app and are edited there (admin, API): the patient's date of birth
(the age row) and the case's target centres (one assessment per centre). A change to
either re-runs the pre-screen once the transaction commits, for cases whose eligibility
work has started (they have a clinical profile); ``assessment_run`` stores a new
assessment only when an input really changed, so a save that changes nothing adds nothing.
"""

from __future__ import annotations

import logging

from django.core.exceptions import ValidationError
from django.db import transaction

logger = logging.getLogger(__name__)


def _rerun_cases_on_commit(cases, *, actor: str, trigger: str) -> None:
    """``cases``: a Case queryset, read only after the commit (the save itself costs no query)."""

    def run():
        from .services import assessment_run

        for case in cases.filter(clinical_profile__isnull=False).select_related("patient").order_by("pk"):
            try:
                assessment_run(case=case, actor=actor, trigger=trigger)
            except ValidationError:
                # Refused, not evaluated (e.g. the new date of birth is after the diagnosis);
                # the coordinator sees the field errors on the next manual run.
                logger.warning("Pre-screen of case %s not re-run: the profile is inconsistent", case.pk)

    transaction.on_commit(run)


def patient_saved(sender, instance, created, update_fields=None, **kwargs) -> None:
    if created or (update_fields is not None and "date_of_birth" not in update_fields):
        return
    from .models import Assessment

    _rerun_cases_on_commit(
        instance.cases.all(), actor="system: patient details changed", trigger=Assessment.Trigger.PROFILE_CHANGE
    )


def target_centres_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    from cases.models import Case

    from .models import Assessment

    if reverse:
        # hospital.target_cases.add(...): pk_set holds case ids; a clear is seen before it
        # happens, while the cases it removes can still be read.
        if action in ("post_add", "post_remove"):
            case_ids = set(pk_set or ())
        elif action == "pre_clear":
            case_ids = set(instance.target_cases.values_list("pk", flat=True))
        else:
            return
    elif action in ("post_add", "post_remove", "post_clear"):
        case_ids = {instance.pk}
    else:
        return
    if case_ids:
        _rerun_cases_on_commit(
            Case.objects.filter(pk__in=case_ids),
            actor="system: target centres changed",
            trigger=Assessment.Trigger.TARGET_CENTRES,
        )


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_save

    from cases.models import Case, Patient

    post_save.connect(patient_saved, sender=Patient, dispatch_uid="eligibility.patient_saved")
    m2m_changed.connect(
        target_centres_changed, sender=Case.target_centres.through, dispatch_uid="eligibility.target_centres"
    )
