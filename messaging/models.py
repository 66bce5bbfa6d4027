"""Conversations on a case: the coordinator with a centre, the coordinator with the family.

Who may read a thread is declared here, once (``Thread.visibility``, applied by
``accounts.access``): coordinators read every thread; a family member only the family thread of
their own case; hospital staff only their own hospital's thread, on cases shared with that
hospital. A message is visible with its thread.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import CaseRows, OwnRows, StaffOnly, Via, VisibleQuerySet


class Thread(models.Model):
    """One conversation on a case with one party (the family, or one centre)."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", _("Coordinator and centre")
        FAMILY = "family", _("Coordinator and family")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="threads")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    hospital = models.ForeignKey(
        "hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="threads"
    )
    subject = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_message_at = models.DateTimeField(null=True, blank=True, db_index=True)
    message_count = models.PositiveIntegerField(default=0)

    objects = VisibleQuerySet.as_manager()
    visibility = CaseRows(
        "case",
        family=Q(kind="family"),
        hospital=lambda user: Q(kind="hospital", hospital_id=user.hospital_id),
    )

    class Meta:
        ordering = ["-last_message_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["case"], condition=Q(kind="family"), name="one_family_thread_per_case"),
            models.UniqueConstraint(
                fields=["case", "hospital"], condition=Q(kind="hospital"), name="one_hospital_thread_per_case"
            ),
            models.CheckConstraint(
                condition=(Q(kind="family", hospital=None) | (Q(kind="hospital") & ~Q(hospital=None))),
                name="thread_hospital_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        party = self.hospital.code if self.kind == self.Kind.HOSPITAL and self.hospital_id else "family"
        return f"{self.case} · {party}"

    def clean(self) -> None:
        super().clean()
        if self.kind == self.Kind.HOSPITAL and not self.hospital_id:
            raise ValidationError({"hospital": _("A thread with a centre names the centre.")})
        if self.kind == self.Kind.FAMILY and self.hospital_id:
            raise ValidationError({"hospital": _("A family thread has no centre.")})


class Message(models.Model):
    """One message. Attachments are documents of the case. A message may be marked for
    translation; its translation is another message pointing back at it."""

    class Side(models.TextChoices):
        COORDINATOR = "coordinator", _("Coordinator")
        HOSPITAL = "hospital", _("Centre")
        FAMILY = "family", _("Family")
        SYSTEM = "system", _("Navigator")

    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=150, blank=True)
    side = models.CharField(max_length=20, choices=Side.choices)
    body = models.TextField()
    language = models.CharField(max_length=16, blank=True)
    attachments = models.ManyToManyField("documents.Document", blank=True, related_name="messages")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    needs_translation = models.BooleanField(default=False)
    translation_language = models.CharField(max_length=16, blank=True, help_text=_("Translate into this language."))
    translation_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="translations"
    )

    objects = VisibleQuerySet.as_manager()
    visibility = Via("thread")

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["thread", "created_at"])]

    def __str__(self) -> str:
        return f"{self.author_label or self.side}: {self.body[:40]}"


class ThreadRead(models.Model):
    """How far one member of staff has read one thread: the messages after ``read_at`` are
    unread for them. Opening the thread in the admin, or replying in it, moves the mark
    (``thread_mark_read``); the coordinator's Today page counts what lies after it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="thread_reads")
    thread = models.ForeignKey(Thread, on_delete=models.CASCADE, related_name="reads")
    read_at = models.DateTimeField()

    objects = VisibleQuerySet.as_manager()
    visibility = OwnRows("user")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "thread"], name="one_read_mark_per_user_and_thread")]

    def __str__(self) -> str:
        return f"{self.user_id} read thread {self.thread_id} up to {self.read_at:%Y-%m-%d %H:%M}"


class TranslationRequestQuerySet(VisibleQuerySet):
    def open(self):
        return self.filter(status=TranslationRequest.Status.OPEN)


class TranslationRequest(models.Model):
    """A message or a document marked for translation, and, once done, its translation."""

    class Status(models.TextChoices):
        OPEN = "open", _("To translate")
        DONE = "done", _("Translated")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="translation_requests")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="translation_requests"
    )
    document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.CASCADE, related_name="translation_requests"
    )
    target_language = models.CharField(max_length=16)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    translated_message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    translated_document = models.ForeignKey(
        "documents.Document", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    completed_at = models.DateTimeField(null=True, blank=True)

    objects = TranslationRequestQuerySet.as_manager()
    visibility = StaffOnly()

    class Meta:
        ordering = ["status", "requested_at"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(message=None) & ~Q(document=None)) | (~Q(message=None) & Q(document=None)),
                name="translation_of_message_or_document",
            ),
            models.UniqueConstraint(
                fields=["message", "target_language"],
                condition=Q(status="open") & ~Q(message=None),
                name="one_open_translation_per_message",
            ),
            models.UniqueConstraint(
                fields=["document", "target_language"],
                condition=Q(status="open") & ~Q(document=None),
                name="one_open_translation_per_document",
            ),
        ]

    def __str__(self) -> str:
        what = f"message {self.message_id}" if self.message_id else f"document {self.document_id}"
        return f"{what} → {self.target_language} ({self.status})"
