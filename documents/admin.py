"""The coordinator's document desk: a review queue across cases, uploads, requests, and the
inlines the case page shows (``DocumentInline``, ``DocumentRequestInline``)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.forms.models import BaseInlineFormSet
from django.shortcuts import get_object_or_404, redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from audit.mixins import audited_admin_action
from cases.admin import case_page_url, case_section
from cases.models import Case
from cases.workplace import case_panel, timeline_source
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from . import selectors, services
from .models import Document, DocumentRequest
from .storage import document_response


class DocumentAddForm(forms.ModelForm):
    """Upload from the admin: the file goes through ``document_create`` during validation, so a
    refused file shows as a form error and nothing is stored."""

    upload = forms.FileField(label="File", allow_empty_file=True)

    class Meta:
        model = Document
        fields = ["case", "doc_type", "title", "clinical_date", "language", "include_in_packets", "notes"]

    def __init__(self, *args, request=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request
        if request is not None:
            self.fields["case"].queryset = Case.objects.visible_to(request.user)

    def clean(self):
        data = super().clean()
        if self.errors or self.request is None:
            return data
        upload = data["upload"]
        try:
            self.instance = services.document_create(
                case=data["case"],
                file=upload,
                filename=upload.name,
                doc_type=data["doc_type"],
                clinical_date=data.get("clinical_date"),
                language=data.get("language", ""),
                title=data.get("title", ""),
                include_in_packets=data.get("include_in_packets", False),
                notes=data.get("notes", ""),
                actor=self.request.user,
                via="admin",
            )
        except DomainError as exc:
            field = exc.field if exc.field in self.fields else "upload"
            self.add_error(field if field != "file" else "upload", exc.message)
        return data


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Shown to the family: say what is wrong and what to send."
    )


class BetterCopyForm(forms.Form):
    description = forms.CharField(
        label="What to send instead",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown to the family, e.g. “The second page is cut off; please photograph it flat.”",
    )
    due_date = forms.DateField(label="Due by", required=False, widget=forms.DateInput(attrs={"type": "date"}))


# What the document page can show beside the review buttons; anything else is offered as a download.
VIEWABLE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
VIEWABLE_PDF = "application/pdf"


class ReviewQueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting for review"), ("translation", "Needs translation")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(review_status__in=[Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW])
        if self.value() == "translation":
            return queryset.filter(translation_status=Document.TranslationStatus.NEEDED)
        return queryset


@admin.register(Document)
class DocumentAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "case_link",
        "doc_type",
        "clinical_date",
        "review_status",
        "source",
        "size_display",
        "include_in_packets",
        "created_at",
    )
    list_select_related = ("case", "uploaded_by")
    list_filter = (ReviewQueueFilter, "review_status", "doc_type", "source", "include_in_packets", "translation_status")
    search_fields = ("=case__reference", "original_name", "title", "=sha256")
    search_help_text = "Case reference (exact), file name, title, or SHA-256."
    date_hierarchy = "created_at"
    show_full_result_count = False
    list_per_page = 50
    ordering = ("-id",)
    actions = ["action_accept", "action_reject", "action_start_review", "action_mark_for_translation", "action_restore"]
    readonly_fields = (
        "case",
        "download_link",
        "original_name",
        "content_type",
        "size_display",
        "sha256",
        "source",
        "uploaded_by",
        "review_status",
        "rejection_reason",
        "reviewed_by",
        "reviewed_at",
        "supersedes",
        "translation_of",
        "translation_status",
        "request",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("case", "doc_type", "title", "clinical_date", "language", "include_in_packets", "notes")}),
        ("File", {"fields": ("download_link", "original_name", "content_type", "size_display", "sha256")}),
        (
            "Review",
            {"fields": ("review_status", "rejection_reason", "reviewed_by", "reviewed_at", "source", "uploaded_by")},
        ),
        ("Lineage", {"fields": ("supersedes", "translation_of", "translator", "translation_status", "request")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "uploaded_by")

    def has_delete_permission(self, request, obj=None):
        return False  # medical records are kept; a newer version supersedes, a reviewer rejects

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            base = DocumentAddForm

            class RequestBound(base):
                def __init__(self, *args, **kw):
                    super().__init__(*args, request=request, **kw)

            kwargs["form"] = RequestBound
            kwargs["fields"] = [*DocumentAddForm.Meta.fields, "upload"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return (
                (
                    None,
                    {
                        "fields": (
                            "case",
                            "upload",
                            "doc_type",
                            "title",
                            "clinical_date",
                            "language",
                            "include_in_packets",
                            "notes",
                        )
                    },
                ),
            )
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if not change:
            return  # created (and audited) by document_create while the form was validated
        changes = {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data}
        if changes:
            try:
                services.document_update(document=obj, actor=request.user, **changes)
            except DomainError as exc:
                messages.error(request, exc.message)

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    # --- columns --------------------------------------------------------------------------
    @admin.display(description="Case", ordering="case__reference")
    def case_link(self, obj):
        return format_html('<a href="{}">{}</a>', reverse("admin:cases_case_change", args=[obj.case_id]), obj.case)

    @admin.display(description="Size", ordering="size")
    def size_display(self, obj):
        return filesizeformat(obj.size) if obj and obj.size else "—"

    @admin.display(description="File")
    def download_link(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        url = reverse("admin:documents_document_download", args=[obj.pk])
        return format_html(
            '<a href="{}?inline=1" target="_blank" rel="noopener">View</a> · <a href="{}">Download</a> '
            "<small>(recorded in the audit trail)</small>",
            url,
            url,
        )

    # --- download -------------------------------------------------------------------------
    def get_urls(self):
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(
                    self.audited_admin_view(
                        self.download_view,
                        lambda request: "view" if request.GET.get("inline") == "1" else "download",
                        detail=lambda request: {"content": True},
                    )
                ),
                name="documents_document_download",
            ),
            path(
                "<int:pk>/review/",
                self.admin_site.admin_view(require_POST(self.review_view)),
                name="documents_document_review",
            ),
            *super().get_urls(),
        ]

    def download_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(self.get_queryset(request), pk=pk)
        inline = request.GET.get("inline") == "1"
        response = document_response(document, inline=inline)
        if inline:
            # The document page shows it in a frame of its own origin; the response stays sandboxed
            # (no script, nothing loaded from elsewhere: see document_response).
            response["X-Frame-Options"] = "SAMEORIGIN"
            response["Content-Security-Policy"] += "; frame-ancestors 'self'"
        return response

    # --- review where the document is shown -------------------------------------------------
    change_form_template = "admin/documents/document/change_form.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        document = self.get_object(request, object_id)
        if document is not None:
            preview = reverse("admin:documents_document_download", args=[document.pk]) + "?inline=1"
            extra_context.update(
                review={
                    "url": reverse("admin:documents_document_review", args=[document.pk]),
                    "preview": preview,
                    "viewer": "image"
                    if document.content_type in VIEWABLE_IMAGES
                    else "pdf"
                    if document.content_type == VIEWABLE_PDF
                    else "",
                    "can_review": document.review_status
                    in (Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW, Document.ReviewStatus.ACCEPTED)
                    and self.has_change_permission(request, document),
                    "reject_form": RejectForm(prefix="reject"),
                    "better_form": BetterCopyForm(prefix="better"),
                    "case_url": case_page_url(document.case_id, "records"),
                }
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def review_view(self, request, pk):
        """Accept, reject (with a reason) or ask for a better copy, from the document page (POST)."""
        document = get_object_or_404(self.get_queryset(request), pk=pk)
        if request.method != "POST" or not self.has_change_permission(request, document):
            raise PermissionDenied
        decision = request.POST.get("decision", "")
        here = reverse("admin:documents_document_change", args=[document.pk])
        try:
            if decision == "accept":
                services.document_accept(
                    document=document,
                    actor=request.user,
                    include_in_packets=bool(request.POST.get("include_in_packets")),
                )
                messages.success(
                    request,
                    f"Accepted {document}."
                    + (" It goes into case packets." if request.POST.get("include_in_packets") else ""),
                )
            elif decision == "reject":
                form = RejectForm(request.POST, prefix="reject")
                if not form.is_valid():
                    raise DomainError("Say why the document is rejected, so the family can fix it.", field="reason")
                services.document_reject(document=document, actor=request.user, **form.cleaned_data)
                messages.success(request, f"Rejected {document}; the family sees the reason.")
            elif decision == "better_copy":
                form = BetterCopyForm(request.POST, prefix="better")
                if not form.is_valid():
                    raise DomainError("Say what to send instead (and a valid due date, if any).", field="description")
                services.document_request_better_copy(document=document, actor=request.user, **form.cleaned_data)
                messages.success(request, f"Asked the family for a better copy of {document}.")
            else:
                raise DomainError("Choose accept, reject or ask for a better copy.", field="decision")
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect(here)
        following = (
            self.get_queryset(request)
            .filter(
                case_id=document.case_id,
                review_status__in=[Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW],
            )
            .exclude(pk=document.pk)
            .order_by("created_at", "id")
            .first()
        )
        if following is not None:
            messages.info(request, "The next file of this case waiting for review is shown.")
            return redirect("admin:documents_document_change", following.pk)
        return redirect(case_page_url(document.case_id, "records"))

    # --- actions --------------------------------------------------------------------------
    def _each(self, request, queryset, func, done_message, **kwargs):
        done = 0
        for document in queryset:
            try:
                func(document=document, actor=request.user, **kwargs)
                done += 1
            except DomainError as exc:
                messages.error(request, f"{document.case.reference} · {document}: {exc.message}")
        if done:
            messages.success(request, done_message.format(n=done))

    @admin.action(description="Accept selected documents")
    def action_accept(self, request, queryset):
        self._each(request, queryset, services.document_accept, "Accepted {n} document(s).")

    @admin.action(description="Restore selected superseded versions (the newer version is superseded)")
    def action_restore(self, request, queryset):
        self._each(request, queryset, services.document_restore, "Restored {n} version(s).")

    @admin.action(description="Start review of selected documents")
    def action_start_review(self, request, queryset):
        self._each(request, queryset, services.document_start_review, "{n} document(s) in review.")

    @admin.action(description="Mark selected documents for translation")
    def action_mark_for_translation(self, request, queryset):
        self._each(request, queryset, services.document_mark_for_translation, "{n} document(s) marked for translation.")

    @admin.action(description="Reject selected documents (with a reason)")
    @audited_admin_action("list")  # the form page lists the selected documents
    def action_reject(self, request, queryset):
        if "apply" in request.POST:
            form = RejectForm(request.POST)
            if form.is_valid():
                self._each(
                    request, queryset, services.document_reject, "Rejected {n} document(s).", **form.cleaned_data
                )
                return None
        else:
            form = RejectForm()
        return TemplateResponse(
            request,
            "admin/documents/document/reject_form.html",
            {
                **self.admin_site.each_context(request),
                "title": "Reject documents",
                "opts": self.model._meta,
                "documents": queryset.select_related("case"),
                "form": form,
                "action": "action_reject",
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )


class DocumentRequestForm(forms.ModelForm):
    class Meta:
        model = DocumentRequest
        fields = ["case", "doc_type", "description", "due_date", "asked_contact", "asked_user"]


def _request_changes(form) -> dict:
    return {f: form.cleaned_data[f] for f in form.changed_data if f in form.cleaned_data and f != "case"}


@admin.register(DocumentRequest)
class DocumentRequestAdmin(VisibleAdmin, admin.ModelAdmin):
    form = DocumentRequestForm
    list_display = ("__str__", "case", "doc_type", "due_date", "status", "asked_contact", "created_at")
    list_select_related = ("case", "asked_contact")
    list_filter = ("status", "doc_type")
    search_fields = ("=case__reference", "description")
    raw_id_fields = ("case", "asked_contact", "asked_user")
    readonly_fields = ("status", "replaces_document", "requested_by", "closed_at", "closed_reason")
    actions = ["action_cancel"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("case", "asked_contact")

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        try:
            if change:
                saved = services.document_request_update(request=obj, actor=request.user, **_request_changes(form))
            else:
                data = form.cleaned_data
                saved = services.document_request_create(
                    case=data["case"],
                    doc_type=data["doc_type"],
                    description=data["description"],
                    due_date=data.get("due_date"),
                    asked_contact=data.get("asked_contact"),
                    asked_user=data.get("asked_user"),
                    actor=request.user,
                )
            obj.pk = saved.pk
            obj._state.adding = False
        except DomainError as exc:
            messages.error(request, exc.message)

    @admin.action(description="Cancel selected requests")
    def action_cancel(self, request, queryset):
        done = 0
        for req in queryset.filter(status=DocumentRequest.Status.OPEN):
            services.document_request_cancel(request=req, actor=request.user, reason="cancelled in admin")
            done += 1
        messages.success(request, f"Cancelled {done} request(s).")


# --- Inlines for the case page (cases.admin.CaseAdmin includes them) --------------------------


@case_section(30)
class DocumentInline(VisibleAdmin, admin.TabularInline):
    """The case's documents, read-only; review happens on the document page or in the queue."""

    model = Document
    fk_name = "case"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("doc_type", "original_name", "clinical_date", "review_status", "include_in_packets", "created_at")
    readonly_fields = fields
    ordering = ("-id",)

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).current()


class DocumentRequestFormSet(BaseInlineFormSet):
    """Requests added or changed on the case page go through the services (milestones, audit)."""

    actor = None

    def save_new(self, form, commit=True):
        data = form.cleaned_data
        return services.document_request_create(
            case=self.instance,
            doc_type=data["doc_type"],
            description=data["description"],
            due_date=data.get("due_date"),
            asked_contact=data.get("asked_contact"),
            actor=self.actor,
        )

    def save_existing(self, form, obj, commit=True):
        changes = _request_changes(form)
        if not changes:
            return obj
        return services.document_request_update(request=obj, actor=self.actor, **changes)

    def clean(self):
        super().clean()
        # Check each new or changed request now, so a bad one is a form error and not a failed save.
        for form in self.forms:
            if not form.has_changed() or not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            data = form.cleaned_data
            if not data.get("doc_type"):
                continue
            try:
                services._check_request(
                    case=self.instance,
                    doc_type=data["doc_type"],
                    description=data.get("description", ""),
                    due_date=data.get("due_date"),
                    asked_contact=data.get("asked_contact"),
                    asked_user=None,
                )
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)


@case_section(20)
class DocumentRequestInline(VisibleAdmin, admin.TabularInline):
    model = DocumentRequest
    fk_name = "case"
    formset = DocumentRequestFormSet
    extra = 0
    can_delete = False
    fields = ("doc_type", "description", "due_date", "asked_contact", "status")
    readonly_fields = ("status",)

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        formset.actor = request.user
        if obj is not None:
            field = formset.form.base_fields["asked_contact"]
            field.queryset = obj.patient.contacts.all()
            # Read the contacts once for every row, not once a row (the page's queries stay constant).
            field.choices = list(field.choices)
        return formset

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "description":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 40})
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# --- The case page: the records checklist and the uploads and reviews on the timeline ---------------

timeline_source(selectors.timeline_entries)


@case_panel("records", order=10)
def records_checklist_panel(request, case) -> str:
    """What is still needed for the case: the same checklist the family's portal shows."""
    from django.template.loader import render_to_string

    waiting = reverse("admin:documents_document_changelist") + f"?case__id__exact={case.pk}&queue=waiting"
    files = list(
        Document.objects.filter(
            case=case, review_status__in=[Document.ReviewStatus.RECEIVED, Document.ReviewStatus.IN_REVIEW]
        )
        .only("id", "doc_type", "original_name", "created_at")
        .order_by("created_at", "id")[:10]
    )
    return render_to_string(
        "admin/documents/_records_panel.html",
        {"checklist": selectors.records_needed(case), "waiting_url": waiting, "waiting": files, "case": case},
        request=request,
    )
