"""Passkeys (WebAuthn, through django-otp-webauthn) as a second sign-in step beside TOTP.

A passkey is a second factor only: the password comes first (passwordless sign-in is off), and
registering one follows the same rule as enrolling an authenticator app: no trust on first use.
A staff member may register a passkey only from a session that is already verified by a device,
or right after spending a one-time enrolment code (see ``privacy.two_factor``). Registering and
using a passkey are recorded in the audit trail like every other step of staff sign-in.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.http import JsonResponse
from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp_webauthn import exceptions, views
from django_otp_webauthn.models import WebAuthnCredential

from audit.services import audit_record

from . import two_factor

# The namespace the library's template tags reverse.
app_name = "otp_webauthn"


class EnrolmentCodeRequired(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "enrolment_code_required"
    default_detail = (
        "Enter the one-time enrolment code from your supervisor (or sent to your email) before registering a passkey."
    )


class StaffOnly(exceptions.OTPWebAuthnApiError):
    status_code = 403
    default_code = "staff_only"
    default_detail = "Passkeys are for staff signing in to the admin."


def confirmed_passkeys(user):
    return WebAuthnCredential.objects.filter(user=user, confirmed=True)


def may_register(request) -> bool:
    """A verified session, or one that has just spent an enrolment code for this user."""
    user = request.user
    if user.is_verified():
        return True
    return request.session.get(two_factor.ENROLMENT_SESSION_KEY) == user.pk


class _StaffCeremony:
    def check_can_register(self):
        user = self.request.user
        if not (user.is_active and (user.is_staff or two_factor.is_coordinator(user))):
            raise StaffOnly()
        if not may_register(self.request):
            raise EnrolmentCodeRequired()


class BeginRegistration(_StaffCeremony, views.BeginCredentialRegistrationView):
    pass


class CompleteRegistration(_StaffCeremony, views.CompleteCredentialRegistrationView):
    def post(self, *args, **kwargs):
        user = self.request.user
        enrolling = not user.is_verified()
        with transaction.atomic():
            response = super().post(*args, **kwargs)
            credential = WebAuthnCredential.objects.get(pk=_json(response)["id"], user=user)
            if enrolling:
                # The recovery codes shown on the enrolment page count from now on, as with TOTP.
                StaticDevice.objects.filter(user=user, name=two_factor.RECOVERY_DEVICE_NAME).update(confirmed=True)
            audit_record(
                actor=user,
                action="update",
                obj=user,
                detail={"two_factor": "enrolled" if enrolling else "passkey added", "method": "passkey"},
            )
            if enrolling:
                audit_record(
                    actor=user, action="login", obj=user, detail={"two_factor": "verified", "method": "passkey"}
                )
        self.request.session.pop(two_factor.ENROLMENT_SESSION_KEY, None)
        return JsonResponse({"id": credential.pk})


class BeginAuthentication(views.BeginCredentialAuthenticationView):
    pass


class CompleteAuthentication(views.CompleteCredentialAuthenticationView):
    def check_can_authenticate(self):
        # Second factor only: the password step must have signed the user in.
        if not self.request.user.is_authenticated:
            raise exceptions.PasswordlessLoginDisabled()
        super().check_can_authenticate()

    def complete_auth(self, device):
        super().complete_auth(device)
        audit_record(
            actor=device.user, action="login", obj=device.user, detail={"two_factor": "verified", "method": "passkey"}
        )

    def get_success_url(self):
        return self.get_redirect_url() or "/admin/"


def _json(response) -> dict:
    return json.loads(response.content)


urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path("registration/complete/", CompleteRegistration.as_view(), name="credential-registration-complete"),
    path("authentication/begin/", BeginAuthentication.as_view(), name="credential-authentication-begin"),
    path("authentication/complete/", CompleteAuthentication.as_view(), name="credential-authentication-complete"),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
