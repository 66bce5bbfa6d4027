"""The coordinator's workplace for centres: the referral pipeline, the packet builder,
API credentials (issue, rotate, revoke). Webhook deliveries are in the webhooks app's admin."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import Max
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from cases.admin import case_section
from cases.workplace import timeline_source
from navigator.admin import ReadOnlyAdmin, VisibleAdmin
from navigator.errors import DomainError

from . import selectors as hospitals_selectors
from . import workflow
from .models import (
    ApiCredential,
    AppointmentSlot,
    Hospital,
    HospitalContact,
    PacketVersion,
    Referral,
    ReferralEvent,
    RequiredRecord,
)
from .packets.diff import describe
from .services.credentials import credential_issue, credential_revoke, credential_rotate
from .services.packets import packet_preview
from .services.referrals import referral_deadline_on_send, referral_send, slot_confirm


class ContactInline(VisibleAdmin, admin.TabularInline):
    model = HospitalContact
    extra = 0


class RequiredRecordForm(forms.ModelForm):
    class Meta:
        model = RequiredRecord
        fields = ["doc_type", "note", "max_age_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from documents.models import DocType

        self.fields["doc_type"] = forms.ChoiceField(choices=DocType.choices)


class RequiredRecordInline(VisibleAdmin, admin.TabularInline):
    model = RequiredRecord
    form = RequiredRecordForm
    extra = 0


@admin.register(Hospital)
class HospitalAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = ("code", "name_en", "name_zh", "kind", "city", "country", "response_days", "is_active")
    search_fields = ("code", "name_en", "name_zh", "city")
    list_filter = ("kind", "country", "is_active")
    filter_horizontal = ("indications",)
    inlines = [ContactInline, RequiredRecordInline]


# --- referral pipeline --------------------------------------------------------------------------


class OverdueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "deadline"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("week", "Due within 7 days"), ("none", "No deadline")]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "overdue":
            return queryset.overdue(now)
        if self.value() == "week":
            return queryset.awaiting_answer().filter(
                response_due_at__gte=now, response_due_at__lt=now + timezone.timedelta(days=7)
            )
        if self.value() == "none":
            return queryset.filter(response_due_at=None)
        return queryset


class ReferralEventInline(VisibleAdmin, admin.TabularInline):
    model = ReferralEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "actor_label", "reason", "detail")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class PacketInline(VisibleAdmin, admin.TabularInline):
    model = PacketVersion
    extra = 0
    can_delete = False
    fields = ("version", "created_at", "created_by", "content_hash", "compared_to", "seen")
    readonly_fields = fields

    @admin.display(boolean=True)
    def seen(self, obj):
        return hasattr(obj, "first_view")

    def has_add_permission(self, request, obj=None):
        return False


class SlotInline(VisibleAdmin, admin.TabularInline):
    model = AppointmentSlot
    extra = 0
    can_delete = False
    fields = ("kind", "starts_at", "ends_at", "location", "note", "status")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ReferralForm(forms.ModelForm):
    class Meta:
        model = Referral
        fields = ["case", "hospital", "cover_note", "response_due_at"]

    def clean(self):
        data = super().clean()
        hospital, case, due = data.get("hospital"), data.get("case"), data.get("response_due_at")
        if hospital and not hospital.is_active:
            self.add_error("hospital", f"{hospital} is not taking referrals (inactive).")
        if (
            hospital
            and case
            and hospital.indications.exists()
            and not hospital.indications.filter(pk=case.indication_id).exists()
        ):
            self.add_error("hospital", f"{hospital} does not accept referrals for {case.indication}.")
        if due and due <= timezone.now() and "response_due_at" in self.changed_data:
            self.add_error("response_due_at", "The response deadline must be in the future.")
        return data


def _deadline_words(referral: Referral) -> str:
    """What a send does to the response deadline, in the coordinator's words."""
    if referral.response_due_at is not None and referral.response_due_at > timezone.now():
        return "the deadline you set is kept"
    return f"set to the centre's answer time of {referral.hospital.response_days} days from sending"


@admin.register(Referral)
class ReferralAdmin(VisibleAdmin, admin.ModelAdmin):
    """The pipeline across centres: where each referral stands and what is overdue."""

    form = ReferralForm
    list_display = ("case", "hospital", "status", "sent_at", "response_due_at", "overdue", "latest_version", "builder")
    list_select_related = ("case", "hospital")
    list_filter = ("status", OverdueFilter, "hospital")
    raw_id_fields = ("case",)
    autocomplete_fields = ("hospital",)
    search_fields = ("case__reference", "hospital__code", "hospital__name_en")
    date_hierarchy = "created_at"
    inlines = [ReferralEventInline, PacketInline, SlotInline]
    actions = ["confirm_first_slot"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(latest=Max("packets__version"))

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("case", "hospital", "status_display", "builder_link")

    def get_fields(self, request, obj=None):
        return ["case", "hospital", "cover_note", "response_due_at"] + (
            ["status_display", "builder_link"] if obj else []
        )

    @admin.display(description="Packet")
    def builder_link(self, obj):
        url = reverse("admin:hospitals_referral_builder", args=[obj.pk])
        return format_html('<a href="{}" class="button">Open the packet builder</a>', url)

    @admin.display(description="status")
    def status_display(self, obj):
        return obj.get_status_display()

    @admin.display(boolean=True)
    def overdue(self, obj):
        return obj.is_overdue

    @admin.display(description="packet", ordering="latest")
    def latest_version(self, obj):
        return f"v{obj.latest}" if obj.latest else "—"

    @admin.display(description="")
    def builder(self, obj):
        url = reverse("admin:hospitals_referral_builder", args=[obj.pk])
        return format_html('<a href="{}">Packet builder</a>', url)

    def save_model(self, request, obj, form, change):
        if change:
            from .services.referrals import referral_set_deadline

            super().save_model(request, obj, form, change)
            if "response_due_at" in form.changed_data and obj.response_due_at:
                referral_set_deadline(referral=obj, actor=request.user, due_at=obj.response_due_at)
            return
        from .services.referrals import referral_create

        created = referral_create(
            case=obj.case,
            hospital=obj.hospital,
            actor=request.user,
            cover_note=obj.cover_note,
            response_due_at=obj.response_due_at,
        )
        obj.pk = created.pk

    def get_urls(self):
        return [
            path(
                "<int:referral_id>/packet-builder/",
                self.admin_site.admin_view(self.audited_admin_view(self.builder_view, page="packet-builder")),
                name="hospitals_referral_builder",
            ),
            *super().get_urls(),
        ]

    def builder_view(self, request, referral_id: int):
        """Choose documents, see what the centre's list still misses and what changed, send."""
        from documents.models import Document

        referral = get_object_or_404(Referral.objects.select_related("case", "hospital"), pk=referral_id)
        candidates = list(
            Document.objects.filter(case=referral.case, translation_of=None)
            .exclude(review_status__in=["superseded", "rejected"])
            .order_by("doc_type", "-clinical_date")
        )
        if request.method == "POST":
            chosen = [int(i) for i in request.POST.getlist("documents") if i.isdigit()]
        else:
            chosen = [d.pk for d in candidates if d.include_in_packets and d.review_status == "accepted"]
        error = None
        try:
            preview = packet_preview(referral=referral, document_ids=chosen)
        except DomainError as exc:
            preview, error = None, exc.message
        if request.method == "POST" and request.POST.get("send") and preview is not None:
            try:
                packet = referral_send(
                    referral=referral,
                    actor=request.user,
                    document_ids=chosen,
                    reason=request.POST.get("reason", ""),
                    allow_missing=bool(request.POST.get("allow_missing")),
                )
            except DomainError as exc:
                error = exc.message
            else:
                due = Referral.objects.values_list("response_due_at", flat=True).get(pk=referral.pk)
                messages.success(
                    request,
                    f"Packet version {packet.version} sent to {referral.hospital}; "
                    f"the answer is due {due:%Y-%m-%d %H:%M} UTC ({_deadline_words(referral)}).",
                )
                return redirect("admin:hospitals_referral_change", referral.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Packet builder: {referral}",
            "opts": self.model._meta,
            "referral": referral,
            "candidates": candidates,
            "unreviewed": [d for d in candidates if d.review_status in ("received", "in_review")],
            "chosen": set(chosen),
            "preview": preview,
            "changes": [describe(c) for c in preview.changes] if preview else [],
            "error": error,
            "needs_reason": referral.status in (workflow.DECLINED, workflow.WITHDRAWN),
            "due_on_send": referral_deadline_on_send(referral=referral),
            "due_words": _deadline_words(referral),
        }
        return TemplateResponse(request, "admin/hospitals/referral/packet_builder.html", context)

    @admin.action(description="Confirm the earliest proposed slot of each selected referral")
    def confirm_first_slot(self, request, queryset):
        for referral in queryset:
            slot = referral.slots.filter(status=AppointmentSlot.Status.PROPOSED).order_by("starts_at").first()
            if slot is None:
                continue
            try:
                slot_confirm(slot=slot, actor=request.user)
            except DomainError as exc:
                messages.error(request, f"{referral}: {exc.message}")


@admin.register(PacketVersion)
class PacketVersionAdmin(ReadOnlyAdmin, VisibleAdmin, admin.ModelAdmin):
    """Sent packets: read-only, forever."""

    list_display = ("referral", "version", "created_at", "created_by", "content_hash")
    list_select_related = ("referral__case", "referral__hospital", "created_by")
    search_fields = ("referral__case__reference",)
    readonly_fields = (
        "referral",
        "version",
        "created_at",
        "created_by",
        "content_hash",
        "compared_to",
        "changes",
        "snapshot",
    )


# --- API credentials --------------------------------------------------------------------------------


class IssueCredentialForm(forms.ModelForm):
    class Meta:
        model = ApiCredential
        fields = ["hospital", "label", "user", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:  # on the change form the user is read-only
            self.fields["user"].required = False
            self.fields["user"].help_text = "Leave empty to act as the centre's service account."

    def clean(self):
        data = super().clean()
        hospital, user, expires = data.get("hospital"), data.get("user"), data.get("expires_at")
        if hospital and not hospital.is_active:
            self.add_error("hospital", f"{hospital} is inactive; reactivate it before issuing keys.")
        if user and hospital and (user.hospital_id != hospital.pk or not user.is_active):
            self.add_error("user", f"{user} is not an active member of {hospital}'s staff.")
        if expires and expires <= timezone.now():
            self.add_error("expires_at", "The expiry must be in the future.")
        if not (data.get("label") or "").strip():
            self.add_error("label", "Name the system that will use this key.")
        return data


@admin.register(ApiCredential)
class ApiCredentialAdmin(VisibleAdmin, admin.ModelAdmin):
    """Issue (the key is shown once), rotate (the old key works 24 hours more), revoke."""

    form = IssueCredentialForm
    list_display = ("__str__", "hospital", "user", "state", "created_at", "expires_at", "last_used_at")
    list_select_related = ("hospital", "user")
    list_filter = ("hospital",)
    actions = ["rotate", "revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return ("hospital", "user", "key_id", "created_at", "created_by", "expires_at", "revoked_at", "revoked_by",
                "revoked_reason", "rotated_from", "last_used_at")  # fmt: skip

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["label"])
            return
        # The form checked what credential_issue checks, so this does not refuse.
        credential, token = credential_issue(
            hospital=obj.hospital, actor=request.user, label=obj.label, user=obj.user_id and obj.user,
            expires_at=obj.expires_at,
        )  # fmt: skip
        obj.pk = credential.pk
        obj.key_id = credential.key_id
        messages.warning(request, f"Copy this key now; it will not be shown again: {token}")

    @admin.action(description="Rotate: issue a replacement (old key keeps working 24 hours)")
    def rotate(self, request, queryset):
        for cred in queryset:
            try:
                _new, token = credential_rotate(credential=cred, actor=request.user)
            except DomainError as exc:
                messages.error(request, f"{cred}: {exc.message}")
            else:
                messages.warning(request, f"New key for {cred.hospital} ({cred.label}), shown once: {token}")

    @admin.action(description="Revoke at once")
    def revoke(self, request, queryset):
        for cred in queryset:
            credential_revoke(credential=cred, actor=request.user, reason="revoked in admin")
        messages.success(request, f"Revoked {queryset.count()} key(s).")


@case_section(50)
class CaseReferralInline(VisibleAdmin, admin.TabularInline):
    """The case's referrals on the case page; each opens the referral (packet builder, answers)."""

    model = Referral
    fk_name = "case"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("hospital", "status", "sent_at", "response_due_at", "builder")
    readonly_fields = fields
    verbose_name_plural = "referrals to centres"

    @admin.display(description="Packet")
    def builder(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        return format_html(
            '<a href="{}">Packet builder</a>', reverse("admin:hospitals_referral_builder", args=[obj.pk])
        )

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("hospital")

    def has_add_permission(self, request, obj=None):
        return False


# The case timeline: what this app adds to it.
timeline_source(hospitals_selectors.timeline_entries)
