"""Threads in the admin: read the conversation, reply (through ``message_post``), translations."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db.models import BooleanField, ExpressionWrapper, F, OuterRef, Q, Subquery
from django.http import HttpResponseRedirect

from cases.admin import case_section
from cases.workplace import timeline_source
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from . import selectors as messaging_selectors
from .models import Thread, ThreadRead, TranslationRequest
from .services import message_post, thread_mark_read, translation_complete


class ThreadForm(forms.ModelForm):
    reply = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
        label="Your reply",
        help_text="Sent to the other side of this conversation.",
    )
    reply_needs_translation = forms.BooleanField(required=False, label="Mark the reply for translation")

    class Meta:
        model = Thread
        fields = ["case", "kind", "hospital", "subject"]

    def clean_reply(self):
        reply = self.cleaned_data.get("reply", "").strip()
        if self.instance.pk and not reply:
            raise forms.ValidationError("Write your reply before sending it.")
        return reply


class UnreadFilter(admin.SimpleListFilter):
    """Threads with messages the signed-in coordinator has not opened yet."""

    title = "read"
    parameter_name = "unread"

    def lookups(self, request, model_admin):
        return [("1", "Unread by me")]

    def queryset(self, request, queryset):
        if self.value() == "1":
            return queryset.filter(unread_for_me=True)
        return queryset


@admin.register(Thread)
class ThreadAdmin(VisibleAdmin, admin.ModelAdmin):
    """A thread reads like a conversation: the messages oldest first, then a reply box. Opening
    it marks it read for the coordinator (``thread_mark_read``); threads are never deleted."""

    form = ThreadForm
    change_form_template = "admin/messaging/thread/change_form.html"
    list_display = ("case", "party", "subject", "message_count", "last_message_at", "unread")
    list_select_related = ("case", "hospital")
    list_filter = (UnreadFilter, "kind", "hospital")
    search_fields = ("case__reference", "subject")
    raw_id_fields = ("case",)

    def get_queryset(self, request):
        read_at = ThreadRead.objects.filter(thread=OuterRef("pk"), user=request.user).values("read_at")[:1]
        unread = Q(last_message_at__isnull=False) & (
            Q(my_read_at__isnull=True) | Q(last_message_at__gt=F("my_read_at"))
        )
        return (
            super()
            .get_queryset(request)
            .annotate(my_read_at=Subquery(read_at))
            .annotate(unread_for_me=ExpressionWrapper(unread, output_field=BooleanField()))
        )

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["case", "kind", "hospital", "subject", "reply", "reply_needs_translation"]})]
        return [(None, {"fields": ["reply", "reply_needs_translation"]})]

    def get_readonly_fields(self, request, obj=None):
        return ("case", "kind", "hospital") if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="with")
    def party(self, obj):
        return obj.hospital.name_en if obj.kind == Thread.Kind.HOSPITAL and obj.hospital_id else "Family"

    @admin.display(boolean=True, description="unread", ordering="unread_for_me")
    def unread(self, obj):
        return obj.unread_for_me

    def change_view(self, request, object_id, form_url="", extra_context=None):
        thread = self.get_object(request, unquote(object_id))
        extra = {
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
            "show_delete": False,
            "conversation": [],
        }
        if thread is not None:
            extra["conversation"] = list(thread.messages.order_by("created_at", "id").prefetch_related("attachments"))
            extra["thread_read_before"] = thread.my_read_at
            if request.method == "GET":
                thread_mark_read(thread=thread, user=request.user)
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def add_view(self, request, form_url="", extra_context=None):
        extra = {"show_save_and_add_another": False, "show_save_and_continue": False}
        return super().add_view(request, form_url, {**extra, **(extra_context or {})})

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        body = form.cleaned_data.get("reply", "").strip()
        if body:
            try:
                message_post(
                    author=request.user,
                    thread=obj,
                    body=body,
                    needs_translation=form.cleaned_data.get("reply_needs_translation", False),
                )
            except DomainError as exc:
                messages.error(request, exc.message)

    def response_change(self, request, obj):
        # Back to the conversation, where the reply now shows.
        if form_reply := request.POST.get("reply", "").strip():
            self.message_user(request, f"Reply sent ({len(form_reply)} characters).", messages.SUCCESS)
        return HttpResponseRedirect(request.path)


class CompleteTranslationForm(forms.ModelForm):
    translated_text = forms.CharField(widget=forms.Textarea, required=False, help_text="For a message.")

    class Meta:
        model = TranslationRequest
        fields = ["translated_document"]


@admin.register(TranslationRequest)
class TranslationRequestAdmin(VisibleAdmin, admin.ModelAdmin):
    form = CompleteTranslationForm
    list_display = ("__str__", "case", "target_language", "status", "requested_at", "completed_at")
    list_select_related = ("case",)
    list_filter = ("status", "target_language")
    raw_id_fields = ("translated_document",)
    readonly_fields = ("case", "message", "document", "target_language", "status", "requested_by", "requested_at")

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        text = form.cleaned_data.get("translated_text", "")
        document = form.cleaned_data.get("translated_document")
        if not text and document is None:
            return
        try:
            translation_complete(request=obj, actor=request.user, body=text, document=document)
        except DomainError as exc:
            messages.error(request, exc.message)


@case_section(60)
class CaseThreadInline(VisibleAdmin, admin.TabularInline):
    """The case's conversations on the case page; each opens the thread."""

    model = Thread
    fk_name = "case"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("kind", "hospital", "subject", "message_count", "last_message_at")
    readonly_fields = fields
    verbose_name_plural = "messages"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("hospital")

    def has_add_permission(self, request, obj=None):
        return False


# The case timeline: what this app adds to it.
timeline_source(messaging_selectors.timeline_entries)
