"""Background work waiting for the broker: one row per Celery task, written in the same
transaction as the change that asked for it (see ``navigator.queue``)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone


class OutboxTask(models.Model):
    name = models.CharField(max_length=200, help_text="The name the Celery task is registered under.")
    args = models.JSONField(default=list, blank=True)
    eta = models.DateTimeField(null=True, blank=True, help_text="Not to run before (creation time + countdown).")
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The relay reads unsent rows in id order; the index holds only those.
            models.Index(fields=["id"], condition=Q(sent_at__isnull=True), name="outbox_unsent"),
            # The cleanup deletes sent rows by age.
            models.Index(fields=["sent_at"], condition=Q(sent_at__isnull=False), name="outbox_sent_at"),
        ]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)} #{self.pk}"

    @property
    def task_id(self) -> str:
        """The Celery task id: a republish of the same row after a crash carries the same id."""
        return f"outbox-{self.pk}"
