"""Two-factor sign-in for staff in the admin (TOTP, RFC 6238, through django-otp).

Coordinators see every case, so a stolen password alone must not open the admin. With
``ADMIN_REQUIRE_2FA`` on (the default whenever ``DEBUG`` is off), signing in is two steps:

1. the usual admin form (user name and password; django-axes locks out guessing);
2. a six-digit code from an authenticator app. A staff member without a confirmed device
   enrols here first: the page shows the ``otpauth://`` URI and the secret, and the device
   counts only once a code from it has been entered.

Until step 2 succeeds the session is not *verified* and ``has_permission`` is false for
every admin page. The demo (``DJANGO_DEBUG=1``) and tests may switch the requirement off.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import is_coordinator
from audit.services import audit_record

DEVICE_NAME = "admin"


def two_factor_required() -> bool:
    return bool(getattr(settings, "ADMIN_REQUIRE_2FA", True))


def needs_second_step(user) -> bool:
    """A signed-in staff member whose session has not yet been verified by a device."""
    if not two_factor_required() or not (user and user.is_authenticated and user.is_active):
        return False
    # Coordinators see every case: a session of theirs needs the second step even if the
    # account was not flagged as staff.
    if not (user.is_staff or is_coordinator(user)):
        return False
    is_verified = getattr(user, "is_verified", None)
    return not (is_verified and is_verified())


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()


def enrolment_device(user) -> TOTPDevice:
    """The pending (unconfirmed) device being enrolled, created on first visit and kept
    across page loads so the secret shown does not change under the user's feet."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=DEVICE_NAME).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Six-digit code",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def __init__(self, *args, device: TOTPDevice, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device

    def clean_token(self) -> str:
        token = "".join(ch for ch in self.cleaned_data["token"] if ch.isdigit())
        if len(token) != self.device.digits:
            raise forms.ValidationError(f"Enter the {self.device.digits}-digit code shown by your authenticator app.")
        allowed, _ = self.device.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes; wait a minute and try again.")
        if not self.device.verify_token(token):
            raise forms.ValidationError(
                "This code is not right. Check the time on your phone and enter the current code."
            )
        return token


class NavigatorAdminSite(OTPAdminSite):
    """The admin, open only to staff verified by a TOTP device when ``ADMIN_REQUIRE_2FA`` is on."""

    # Step one stays the ordinary password form; the code is asked on its own page so staff
    # without a device yet can enrol.
    login_form = AdminAuthenticationForm
    login_template = None

    def has_permission(self, request) -> bool:
        if two_factor_required():
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)

    def get_urls(self):
        view = never_cache(csrf_protect(self.two_factor_view))
        return [path("two-factor/", view, name="two_factor"), *super().get_urls()]

    def login(self, request, extra_context=None):
        if request.method == "GET" and needs_second_step(request.user):
            return self._to_second_step(request)
        return super().login(request, extra_context)

    def _to_second_step(self, request):
        url = reverse("admin:two_factor", current_app=self.name)
        next_url = request.GET.get(REDIRECT_FIELD_NAME)
        if next_url:
            from urllib.parse import urlencode

            url += "?" + urlencode({REDIRECT_FIELD_NAME: next_url})
        return HttpResponseRedirect(url)

    def two_factor_view(self, request):
        """Enrol a device or enter a code: the second step of the admin sign-in."""
        user = request.user
        index = reverse("admin:index", current_app=self.name)
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        next_url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME) or index
        if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
            next_url = index
        if not needs_second_step(user):
            return HttpResponseRedirect(next_url)

        device = confirmed_device(user)
        enrolling = device is None
        if enrolling:
            device = enrolment_device(user)
        form = TokenForm(request.POST or None, device=device)
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                if enrolling:
                    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
                    device.confirmed = True
                    audit_record(actor=user, action="update", obj=user, detail={"two_factor": "enrolled"})
                audit_record(actor=user, action="login", obj=user, detail={"two_factor": "verified"})
            otp_login(request, device)
            return HttpResponseRedirect(next_url)
        context = {
            **self.each_context(request),
            "title": "Set up two-factor sign-in" if enrolling else "Two-factor sign-in",
            "form": form,
            "enrolling": enrolling,
            "otpauth_uri": device.config_url if enrolling else "",
            "secret": _base32(device) if enrolling else "",
            "next": next_url,
        }
        return TemplateResponse(request, "privacy/two_factor.html", context)


def _base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")
