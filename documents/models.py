"""Medical records of a case: documents, requests for them, and resumable uploads in progress.

A document's bytes live in Django's default storage (local disk or S3) under a key that
reveals nothing about the patient; they are never reachable at a public URL. Downloads
go through ``documents.api.views.DocumentViewSet.download``, which authorises and audits.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import CaseRows, VisibleQuerySet


class DocType(models.TextChoices):
    """The records a centre needs for B-ALL CAR-T review (pathway.md), plus travel and admin papers."""

    DIAGNOSIS_PATHOLOGY = "diagnosis_pathology", _("Diagnosis pathology / immunophenotyping")
    CD19_FLOW = "cd19_flow", _("CD19 flow cytometry")
    BONE_MARROW = "bone_marrow", _("Bone marrow aspirate report")
    MRD_REPORT = "mrd_report", _("MRD report")
    CYTOGENETICS = "cytogenetics", _("Cytogenetics / molecular (BCR::ABL1, others)")
    TREATMENT_HISTORY = "treatment_history", _("Treatment history")
    TRANSPLANT_RECORD = "transplant_record", _("Transplant record")
    CSF_CNS = "csf_cns", _("CSF / CNS status")
    BLOOD_COUNTS = "blood_counts", _("Blood counts and chemistry")
    INFECTION_SEROLOGY = "infection_serology", _("Infection serology")
    IMAGING_REPORT = "imaging_report", _("Imaging report")
    IMAGING_STUDY = "imaging_study", _("Imaging study (DICOM)")
    DISCHARGE_SUMMARY = "discharge_summary", _("Discharge summary")
    PASSPORT_ID = "passport_id", _("Passport / ID")
    CONSENT = "consent", _("Consent")
    OTHER = "other", _("Other")


class Source(models.TextChoices):
    FAMILY = "family", _("Family")
    COORDINATOR = "coordinator", _("Coordinator")
    HOSPITAL = "hospital", _("Hospital")


class DocumentQuerySet(VisibleQuerySet):
    def current(self):
        """Documents not replaced by a newer version."""
        return self.exclude(review_status=Document.ReviewStatus.SUPERSEDED)


def document_storage_key(instance: Document, filename: str) -> str:
    # The key names neither the patient nor the original file: only case id and a random id.
    return f"documents/{instance.case_id}/{uuid.uuid4().hex}{_extension_of(filename)}"


def _extension_of(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower()[:10] if dot > 0 else ""


class Document(models.Model):
    """One medical record (report, scan, study) of a case, with its review state and lineage."""

    class ReviewStatus(models.TextChoices):
        RECEIVED = "received", _("Received")
        IN_REVIEW = "in_review", _("In review")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        SUPERSEDED = "superseded", _("Superseded by a newer version")

    class TranslationStatus(models.TextChoices):
        NOT_NEEDED = "not_needed", _("Not needed")
        NEEDED = "needed", _("Translation needed")
        TRANSLATED = "translated", _("Translated")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="documents")
    doc_type = models.CharField(_("type"), max_length=30, choices=DocType.choices, db_index=True)
    title = models.CharField(max_length=200, blank=True, help_text=_("Short description, e.g. 'BM aspirate, PKUPH'."))
    clinical_date = models.DateField(
        null=True, blank=True, help_text=_("Date of the report or the sample, not of the upload.")
    )
    language = models.CharField(
        max_length=16, blank=True, help_text=_("Language of the document, as a BCP 47 code (en, ru, zh-Hans…).")
    )
    source = models.CharField(max_length=20, choices=Source.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    original_name = models.CharField(max_length=255, help_text=_("The uploader's file name, sanitised."))
    file = models.FileField(upload_to=document_storage_key, max_length=500)
    content_type = models.CharField(max_length=100, help_text=_("Detected from the content, never from the client."))
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    sha1 = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text=_("SHA-1 (hex), for FHIR Attachment.hash; empty if not recorded."),
    )

    review_status = models.CharField(
        max_length=20, choices=ReviewStatus.choices, default=ReviewStatus.RECEIVED, db_index=True
    )
    rejection_reason = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    # Lineage: a new version replaces the old one (both kept); a translation points at its original.
    supersedes = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded_by"
    )
    translation_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="translations"
    )
    translator = models.CharField(max_length=200, blank=True, help_text=_("Who translated it (person or agency)."))
    translation_status = models.CharField(
        max_length=20, choices=TranslationStatus.choices, default=TranslationStatus.NOT_NEEDED
    )
    request = models.ForeignKey(
        "documents.DocumentRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="documents",
        help_text=_("The request this document answers, if any."),
    )
    include_in_packets = models.BooleanField(
        default=False,
        help_text=_("Sent to centres in case packets (and visible to the centres the case is shared with)."),
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DocumentQuerySet.as_manager()
    # The case rule; hospital staff see only what goes into packets.
    visibility = CaseRows("case", hospital=Q(include_in_packets=True))

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["case", "-id"]),
            models.Index(fields=["case", "doc_type", "review_status"]),
            models.Index(fields=["review_status", "created_at"]),
        ]
        constraints = [
            # The same bytes twice in one case is a duplicate, whatever the file is called.
            models.UniqueConstraint(fields=["case", "sha256"], name="document_unique_content_per_case"),
            models.CheckConstraint(
                condition=~Q(review_status="rejected") | ~Q(rejection_reason=""),
                name="document_rejection_has_reason",
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="document_size_positive"),
        ]
        permissions = [("review_document", "Can accept or reject documents")]

    def __str__(self) -> str:
        return f"{self.get_doc_type_display()}: {self.original_name}"

    @property
    def is_current(self) -> bool:
        return self.review_status != self.ReviewStatus.SUPERSEDED

    def clean(self) -> None:
        super().clean()
        if self.review_status == self.ReviewStatus.REJECTED and not self.rejection_reason.strip():
            raise ValidationError(
                {"rejection_reason": _("Say why the document is rejected, so the family can fix it.")}
            )
        if self.clinical_date and self.clinical_date > timezone.localdate():
            raise ValidationError({"clinical_date": _("The clinical date cannot be in the future.")})
        if self.supersedes_id and self.supersedes_id == self.pk:
            raise ValidationError({"supersedes": _("A document cannot supersede itself.")})


class DocumentRequestQuerySet(VisibleQuerySet):
    def open(self):
        return self.filter(status=DocumentRequest.Status.OPEN)

    def overdue(self, today=None):
        return self.open().filter(due_date__lt=today or timezone.localdate())


class DocumentRequest(models.Model):
    """A coordinator asks someone (usually the family) for a record, by a due date."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        FULFILLED = "fulfilled", _("Fulfilled")
        CANCELLED = "cancelled", _("Cancelled")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="document_requests")
    doc_type = models.CharField(_("type"), max_length=30, choices=DocType.choices)
    description = models.TextField(help_text=_("What exactly is needed, in words the family understands."))
    due_date = models.DateField(null=True, blank=True)
    asked_contact = models.ForeignKey(
        "cases.FamilyContact", null=True, blank=True, on_delete=models.SET_NULL, related_name="document_requests"
    )
    asked_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="document_requests",
        help_text=_("The person asked, when it is a login (family member or hospital staff)."),
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    replaces_document = models.ForeignKey(
        Document,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="better_copy_requests",
        help_text=_("Set when a better copy of this document is asked for."),
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=300, blank=True)

    objects = DocumentRequestQuerySet.as_manager()
    # Coordinators see all; a family its case's requests addressed to it (or to nobody in
    # particular); hospital staff the requests addressed to them, on shared cases.
    visibility = CaseRows(
        "case",
        family=lambda user: Q(asked_user=user) | Q(asked_contact__user=user) | Q(asked_user=None, asked_contact=None),
        hospital=lambda user: Q(asked_user=user),
    )

    class Meta:
        ordering = ["due_date", "id"]
        indexes = [models.Index(fields=["case", "status"]), models.Index(fields=["status", "due_date"])]

    def __str__(self) -> str:
        return f"{self.get_doc_type_display()} for {self.case_id}"

    @property
    def is_overdue(self) -> bool:
        return self.status == self.Status.OPEN and bool(self.due_date and self.due_date < timezone.localdate())

    @property
    def milestone_key(self) -> str:
        return f"document-request:{self.pk}"


def _uploader(user) -> Q:
    return Q(user=user)


class UploadQuerySet(VisibleQuerySet):
    def expired(self, now=None):
        return self.filter(expires_at__lt=now or timezone.now())


class Upload(models.Model):
    """A resumable (tus) upload in progress. Its bytes wait in a store every web replica reaches
    (``documents.upload_parts``: a shared directory, or an S3 multipart upload) until complete,
    then go through ``document_create`` like any other upload; the row is deleted then. ``offset``
    counts the bytes safely stored, ``parts`` says where they are."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="+")
    doc_type = models.CharField(max_length=30, choices=DocType.choices)
    clinical_date = models.DateField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)
    filename = models.CharField(max_length=255)
    request = models.ForeignKey(DocumentRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict, blank=True)
    parts = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    objects = UploadQuerySet.as_manager()
    # Only the uploader (whatever the role), and only while they can still see the case.
    visibility = CaseRows("case", coordinator=_uploader, family=_uploader, hospital=_uploader)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(offset__gte=0) & Q(offset__lte=models.F("length")), name="upload_offset_in_range"
            ),
        ]

    def __str__(self) -> str:
        return f"upload {self.pk} ({self.offset}/{self.length})"
