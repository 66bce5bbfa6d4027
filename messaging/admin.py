"""Threads in the admin: read the conversation, reply (through ``message_post``), translations."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from cases.admin import case_section
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from .models import Message, Thread, TranslationRequest
from .services import message_post, translation_complete


class MessageInline(VisibleAdmin, admin.TabularInline):
    model = Message
    extra = 0
    can_delete = False
    fields = ("created_at", "side", "author_label", "body", "language", "needs_translation", "translation_of")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class ThreadForm(forms.ModelForm):
    reply = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False, help_text="Post a reply.")
    reply_needs_translation = forms.BooleanField(required=False, label="Mark the reply for translation")

    class Meta:
        model = Thread
        fields = ["case", "kind", "hospital", "subject"]


@admin.register(Thread)
class ThreadAdmin(VisibleAdmin, admin.ModelAdmin):
    form = ThreadForm
    list_display = ("case", "kind", "hospital", "message_count", "last_message_at")
    list_select_related = ("case", "hospital")
    list_filter = ("kind", "hospital")
    search_fields = ("case__reference", "subject")
    raw_id_fields = ("case",)
    inlines = [MessageInline]

    def get_readonly_fields(self, request, obj=None):
        return ("case", "kind", "hospital") if obj else ()

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
