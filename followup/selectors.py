"""Reads of the way home: the latest handback, overdue follow-up visits."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from accounts.roles import is_coordinator
from cases.models import Case
from scheduling.models import Milestone
from scheduling.services import FOLLOW_UP_PREFIX

from .models import FollowUpResult, Handback

FOLLOW_UP_KEY = FOLLOW_UP_PREFIX  # the visits' milestone keys: followup:m1, followup:m3…


def handback_latest(case: Case) -> Handback | None:
    return Handback.objects.filter(case=case).order_by("-version").first()


def overdue_followups(user, *, now=None) -> QuerySet[Milestone]:
    """Follow-up visits after discharge that are past due and not done, for the cases ``user`` may
    see, oldest first: one query, for a list on the coordinator's landing page. Coordinators' work:
    anyone else gets an empty list."""
    if not is_coordinator(user):
        return Milestone.objects.none()
    return (
        Milestone.objects.visible_to(user)
        .overdue(now or timezone.now())
        .filter(key__startswith=FOLLOW_UP_KEY)
        .select_related("case__patient")
        .order_by("due_at", "id")
    )


def results_for(case: Case) -> QuerySet[FollowUpResult]:
    return FollowUpResult.objects.filter(case=case).order_by("-date", "-id")
