"""Thin Celery tasks: load by id, call a service. Safe to run twice."""

from __future__ import annotations

from celery import shared_task

from .services.referrals import referral_deadlines_notify


@shared_task(name="hospitals.tasks.referral_deadlines_scan", ignore_result=True)
def referral_deadlines_scan() -> int:
    return referral_deadlines_notify()
