"""The coordinator's side of the portal: inviting family members, seeing who has access."""

from __future__ import annotations

import smtplib

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from accounts.roles import is_family
from cases.models import FamilyContact
from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from . import services
from .models import PortalInvitation


class InvitationForm(forms.ModelForm):
    class Meta:
        model = PortalInvitation
        fields = ["contact", "email"]
        help_texts = {"email": _("Leave empty to use the contact's email address.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # An existing invitation is shown read-only: its form has neither field.
        if "email" in self.fields:
            self.fields["email"].required = False
        if "contact" in self.fields:
            self.fields["contact"].queryset = FamilyContact.objects.select_related("patient")

    def clean(self):
        data = super().clean()
        contact = data.get("contact")
        if contact is not None:
            if not (data.get("email") or contact.email):
                self.add_error(
                    "email", _("This contact has no email address: give one here, or add it to the contact.")
                )
            if contact.user_id and not is_family(contact.user):
                self.add_error("contact", _("This contact is linked to a staff login; invite a family account only."))
        return data


@admin.register(PortalInvitation)
class PortalInvitationAdmin(VisibleAdmin, admin.ModelAdmin):
    """Adding an invitation emails a single-use link; the raw link is never shown or stored."""

    form = InvitationForm
    list_display = ["id", "contact", "email", "state_label", "invited_by", "created_at", "expires_at", "used_at"]
    list_select_related = ["contact", "contact__patient", "invited_by"]
    list_filter = ["used_at", "revoked_at"]
    search_fields = ["email", "contact__name"]
    autocomplete_fields = []
    readonly_fields = ["invited_by", "created_at", "expires_at", "used_at", "revoked_at", "user"]
    actions = ["resend", "revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A sent invitation is never edited: a new link is a new invitation (the "resend" action).
        return self.readonly_fields if obj is None else ["contact", "email", "state_label", *self.readonly_fields]

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    @admin.display(description=_("state"))
    def state_label(self, obj):
        return {
            "pending": _("Waiting"),
            "used": _("Used"),
            "expired": _("Expired"),
            "revoked": _("Revoked"),
        }[obj.state]

    def save_model(self, request, obj, form, change):
        # Creation goes through the service (hashing, revoking older links, the email).
        invitation, raw = services.invitation_create(
            contact=form.cleaned_data["contact"], actor=request.user, email=form.cleaned_data.get("email") or ""
        )
        obj.pk = invitation.pk
        try:
            services.invitation_send(invitation=invitation, raw_token=raw)
        except (smtplib.SMTPException, OSError):
            services.invitation_revoke(invitation=invitation, actor=request.user)
            messages.error(request, _("The email could not be sent, so the invitation was withdrawn. Try again later."))
            return
        messages.success(request, _("The invitation was emailed to %(email)s.") % {"email": invitation.email})

    def save_form(self, request, form, change):
        return form.save(commit=False)

    def response_add(self, request, obj, post_url_continue=None):
        obj = PortalInvitation.objects.get(pk=obj.pk)
        return super().response_add(request, obj, post_url_continue)

    def log_addition(self, request, obj, message):
        return None

    @admin.action(description=_("Send a new invitation link"))
    def resend(self, request, queryset):
        sent = 0
        for invitation in queryset.select_related("contact"):
            try:
                services.invitation_create_and_send(contact=invitation.contact, actor=request.user)
                sent += 1
            except DomainError as exc:
                messages.error(request, exc.message)
            except (smtplib.SMTPException, OSError):
                messages.error(request, _("The email could not be sent. Try again later."))
        if sent:
            messages.success(request, _("%(count)d new invitation(s) sent.") % {"count": sent})

    @admin.action(description=_("Revoke the link"))
    def revoke(self, request, queryset):
        revoked = sum(services.invitation_revoke(invitation=i, actor=request.user) for i in queryset)
        messages.success(request, _("%(count)d invitation(s) revoked.") % {"count": revoked})
