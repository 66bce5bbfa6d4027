"""Coordinators' view of notices: each family contact's preference (editable), and the
deliveries (a failed one is sent again from here after the address is fixed)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages

from cases.admin import ServiceSavesAdminMixin
from navigator.admin import VisibleAdmin

from . import delivery as notice_delivery
from .models import NoticeDelivery, NoticePreference
from .services import PREFERENCE_FIELDS, notice_preference_update


class NoticePreferenceForm(forms.ModelForm):
    subscribed = forms.BooleanField(
        required=False, initial=True, help_text="Off: nothing is sent (as after the unsubscribe link)."
    )

    class Meta:
        model = NoticePreference
        fields = ("contact", *PREFERENCE_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["subscribed"].initial = self.instance.unsubscribed_at is None


@admin.register(NoticePreference)
class NoticePreferenceAdmin(VisibleAdmin, ServiceSavesAdminMixin, admin.ModelAdmin):
    form = NoticePreferenceForm
    list_display = ("contact", "by_email", "by_sms", "by_whatsapp", "quiet_start", "quiet_end", "unsubscribed_at")
    list_select_related = ("contact",)
    list_filter = ("by_email", "by_sms", "by_whatsapp")
    autocomplete_fields = ("contact",)
    readonly_fields = ("unsubscribed_at",)
    fields = ("contact", "subscribed", "unsubscribed_at", *PREFERENCE_FIELDS)

    def get_readonly_fields(self, request, obj=None):
        return ("unsubscribed_at", "contact") if obj is not None else ("unsubscribed_at",)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in PREFERENCE_FIELDS if name in form.cleaned_data}
        contact = obj.contact if change else form.cleaned_data["contact"]
        saved = notice_preference_update(
            contact=contact, actor=request.user, subscribed=form.cleaned_data.get("subscribed", True), **data
        )
        obj.pk = saved.pk
        obj._state.adding = False
        obj._state.db = saved._state.db


@admin.register(NoticeDelivery)
class NoticeDeliveryAdmin(VisibleAdmin, admin.ModelAdmin):
    """Read-only: what was sent to whom, when, on which channel; failures first to act on."""

    list_display = ("pk", "recipient", "channel", "status", "attempts", "sent_at", "delivery", "last_error_short")
    list_filter = ("status", "channel")
    list_select_related = ("digest__contact", "digest__user")
    actions = ["send_again"]
    readonly_fields = [f.name for f in NoticeDelivery._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="recipient")
    def recipient(self, obj):
        return obj.digest.contact if obj.digest.contact_id else obj.digest.user

    @admin.display(description="last error")
    def last_error_short(self, obj):
        return obj.last_error[:80]

    @admin.action(description="Send the selected failed deliveries again")
    def send_again(self, request, queryset):
        done = sum(
            notice_delivery.notice_delivery_retry(delivery=row, actor=request.user)
            for row in queryset.filter(status=NoticeDelivery.Status.FAILED)
        )
        messages.info(request, f"{done} deliver{'y' if done == 1 else 'ies'} queued again.")
