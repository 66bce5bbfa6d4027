"""Portal forms. Every label and message goes through translation; errors name the field."""

from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm, PasswordResetForm
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.roles import is_family

FORM_ERRORS_ID = "form-errors"


class ErrorFocusMixin:
    """After a failed submit, the first field with an error has the focus; a form-wide error (a
    wrong password) is tied to the fields it is about. Django marks each field with an error
    ``aria-invalid`` and points its ``aria-describedby`` at the field's ``<id>_error`` text."""

    form_error_fields: tuple[str, ...] = ()

    def full_clean(self):
        super().full_clean()  # type: ignore[misc]
        fields, errors = self.fields, self.errors  # type: ignore[attr-defined]
        if not errors:
            return
        for field in fields.values():
            field.widget.attrs.pop("autofocus", None)
        if "__all__" in errors:
            for name in self.form_error_fields:
                fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": FORM_ERRORS_ID})
        first = next((name for name in fields if name in errors), None)
        if first is None and "__all__" in errors and self.form_error_fields:
            first = self.form_error_fields[0]
        if first is not None:
            fields[first].widget.attrs["autofocus"] = True


class PortalLoginForm(ErrorFocusMixin, AuthenticationForm):
    username = forms.CharField(
        label=_("User name or email"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    form_error_fields = ("username", "password")
    error_messages = {
        "invalid_login": _("The user name or password is not right. Please check them and try again."),
        "inactive": _("This account is switched off. Please contact your coordinator."),
        "not_family": _("This sign-in is for families. Staff sign in through the coordinators' workplace."),
    }

    def clean_username(self):
        # Families may type their email; the account's user name is looked up from it.
        from accounts.models import User

        value = self.cleaned_data["username"].strip()
        if "@" in value:
            match = User.objects.filter(email__iexact=value, role=User.Role.FAMILY).values_list("username", flat=True)
            if len(match) == 1:
                return match[0]
        return value

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not is_family(user):
            raise forms.ValidationError(self.error_messages["not_family"], code="not_family")


class TokenForm(ErrorFocusMixin, forms.Form):
    token = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        min_length=6,
        max_length=10,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}),
    )


class AcceptInvitationForm(ErrorFocusMixin, forms.Form):
    username = forms.CharField(
        label=_("User name"),
        max_length=150,
        help_text=_("You will use it to sign in. Your email address works too."),
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; not a common password and not only numbers."),
    )
    password2 = forms.CharField(
        label=_("New password again"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords are not the same. Please type them again."))
        return data


class MessageForm(ErrorFocusMixin, forms.Form):
    body = forms.CharField(
        label=_("Your message"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write a message before sending.")},
    )


class UploadDetailsForm(forms.Form):
    """Validated in the browser before the upload starts; the server validates again."""

    doc_type = forms.ChoiceField(label=_("What is this record?"))
    clinical_date = forms.DateField(
        label=_("Date of the report or sample"),
        required=False,
        help_text=_("The date printed on the report, not today's date. Leave empty if you are not sure."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, doc_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["doc_type"].choices = [("", _("Choose the type of record"))] + list(doc_types)
        self.fields["clinical_date"].widget.attrs["max"] = timezone.localdate().isoformat()


class FamilyPasswordResetForm(PasswordResetForm):
    """Django's reset form, for family accounts only: staff reset their passwords through the
    admin's own procedure (with its two-factor step), never through the family portal."""

    def get_users(self, email):
        return (user for user in super().get_users(email) if is_family(user))


class NoticePreferenceForm(forms.Form):
    """What a family member is told by email, SMS or WhatsApp, and when not."""

    subscribed = forms.BooleanField(label=_("Tell me when there is news in the portal"), required=False)
    by_email = forms.BooleanField(label=_("By email"), required=False)
    by_sms = forms.BooleanField(label=_("By SMS"), required=False)
    by_whatsapp = forms.BooleanField(label=_("By WhatsApp"), required=False)
    on_message = forms.BooleanField(label=_("A new message from my coordinator"), required=False)
    on_document_request = forms.BooleanField(label=_("My coordinator asks for a record"), required=False)
    on_review = forms.BooleanField(label=_("A record I sent was reviewed"), required=False)
    on_date_changed = forms.BooleanField(label=_("A date in my plan changed"), required=False)
    quiet_start = forms.TimeField(
        label=_("Quiet from"),
        help_text=_("Nothing is sent between these times, in your time zone; it waits until the quiet time ends."),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": _("Give the time your quiet hours start, e.g. 21:00."),
            "invalid": _("Give a time such as 21:00."),
        },
    )
    quiet_end = forms.TimeField(
        label=_("Quiet until"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={
            "required": _("Give the time your quiet hours end, e.g. 08:00."),
            "invalid": _("Give a time such as 08:00."),
        },
    )

    CHANNELS = ("by_email", "by_sms", "by_whatsapp")

    def __init__(self, *args, contact=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.contact = contact

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("subscribed") and not any(cleaned.get(name) for name in self.CHANNELS):
            self.add_error("by_email", _("Choose at least one way to be told, or turn notifications off."))
        if self.contact is not None:
            if cleaned.get("by_email") and not self.contact.email:
                self.add_error("by_email", _("We have no email address for you; ask your coordinator to add it."))
            for name in ("by_sms", "by_whatsapp"):
                if cleaned.get(name) and not self.contact.phone:
                    self.add_error(name, _("We have no phone number for you; ask your coordinator to add it."))
        return cleaned
