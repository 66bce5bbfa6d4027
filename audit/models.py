"""The audit trail: who read or changed what, when, from where. Append-only."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import connection, models
from django.db.models import Q
from django.utils import timezone

from accounts.access import StaffOnly, VisibleQuerySet


class AuditEventQuerySet(VisibleQuerySet):
    def update(self, **kwargs):
        raise PermissionError("Audit events cannot be changed.")

    def delete(self):
        raise PermissionError("Audit events cannot be deleted.")

    def for_case(self, case_id: int):
        """Every event about one case: those recorded against it, and the list pages that showed
        it among others (one row per page, naming its cases in ``detail["case_ids"]``)."""
        about = Q(case_id=case_id)
        if connection.vendor == "postgresql":
            # jsonb containment, answered by the partial GIN index on list rows.
            about |= Q(action=AuditEvent.Action.LIST, case_id__isnull=True, detail__case_ids__contains=[case_id])
        return self.filter(about)


class AuditEvent(models.Model):
    """One read of medical data or one change. Rows are never updated or deleted:
    the model refuses, and on PostgreSQL a trigger refuses too."""

    class Action(models.TextChoices):
        VIEW = "view", "Viewed"
        LIST = "list", "Listed"
        DOWNLOAD = "download", "Downloaded"
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        DELETE = "delete", "Deleted"
        TRANSITION = "transition", "Changed status"
        EXPORT = "export", "Exported"
        ERASE = "erase", "Erased"
        SEND = "send", "Sent"
        LOGIN = "login", "Signed in"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=150, blank=True, help_text="Username at the time, or the system task.")
    actor_role = models.CharField(max_length=20, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=60)
    object_id = models.CharField(max_length=64, blank=True)
    # Plain columns, not foreign keys: the trail outlives the case (erasure keeps it).
    case_id = models.BigIntegerField(null=True, blank=True)
    case_reference = models.CharField(max_length=20, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["case_id", "-at"]),
            models.Index(fields=["object_type", "object_id"]),
            # List pages naming many cases (AuditEventQuerySet.for_case). PostgreSQL only.
            GinIndex(
                fields=["detail"], opclasses=["jsonb_path_ops"], condition=Q(action="list"), name="audit_list_detail"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Audit events cannot be deleted.")


class CaseKey(models.Model):
    """The key that seals a case's free text kept in append-only records (the audit trail).

    Reasons and notes written into audit entries name people ("the mother withdrew ..."); they
    are encrypted with this key (``cryptography``'s Fernet, see ``audit.crypto``). Erasing the case
    deletes the key: the entries stay, intact and in order, and the sealed text is unreadable
    from then on (crypto-shredding)."""

    case_id = models.BigIntegerField(unique=True)
    key = models.BinaryField()
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"key of case {self.case_id}"
