"""Two-factor sign-in for staff in the admin (TOTP, RFC 6238, through django-otp).

Coordinators see every case, so a stolen password alone must not open the admin. With
``ADMIN_REQUIRE_2FA`` on (the default whenever ``DEBUG`` is off), signing in is two steps:

1. the usual admin form (user name and password; django-axes locks out guessing);
2. a six-digit code from an authenticator app, a passkey (WebAuthn, ``privacy.passkeys``), or one
   of the user's recovery codes.

A password alone never enrols a device (no trust on first use): a staff member without a
confirmed device must first enter a one-time enrolment code, issued by a supervisor in the
admin (user list, action "Issue a two-factor enrolment code") or sent on request to the email
address on file. Codes are stored hashed, expire, and are spent by their first use. Then the
page shows the ``otpauth://`` URI and the secret; the device counts only once a code from it
has been entered, and ten recovery codes (django-otp static tokens, each usable once) are
shown once. A signed-in user may regenerate them; a supervisor resets a lost device.

Until step 2 succeeds the session is not *verified* and ``has_permission`` is false for
every admin page. The demo (``DJANGO_DEBUG=1``) and tests may switch the requirement off.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.admin.sites import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login
from django_otp.admin import OTPAdminSite
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from accounts.roles import is_coordinator
from audit.services import audit_record
from navigator.admin import QuickAppListMixin

from .models import TwoFactorEnrolmentCode

logger = logging.getLogger(__name__)

DEVICE_NAME = "admin"
RECOVERY_DEVICE_NAME = "recovery"
# Session key: the user id whose enrolment code was accepted in this session.
ENROLMENT_SESSION_KEY = "two_factor_enrolment_user"
# Enrolment codes: 16 characters from an alphabet without look-alikes (80 bits).
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 16
# An emailed code may be asked for again only after this many minutes.
EMAIL_CODE_INTERVAL = timedelta(minutes=5)


def _hash_code(code: str) -> str:
    normalised = "".join(ch for ch in code.upper() if ch.isalnum())
    return hashlib.sha256(normalised.encode()).hexdigest()


def issue_enrolment_code(user, *, channel: str, issued_by=None) -> str:
    """A new one-time enrolment code for ``user``; earlier unused codes stop working.

    Returns the code in clear: the caller shows or sends it once; only its hash is kept."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    code = "-".join(raw[i : i + 4] for i in range(0, CODE_LENGTH, 4))
    now = timezone.now()
    with transaction.atomic():
        TwoFactorEnrolmentCode.objects.filter(user=user, used_at__isnull=True, expires_at__gt=now).update(
            expires_at=now
        )
        TwoFactorEnrolmentCode.objects.create(
            user=user,
            code_hash=_hash_code(code),
            channel=channel,
            issued_by=issued_by,
            created_at=now,
            expires_at=now + timedelta(minutes=settings.TWO_FACTOR_ENROLMENT_CODE_MINUTES),
        )
        audit_record(
            actor=issued_by or user,
            action="create",
            obj=user,
            detail={"two_factor": "enrolment code issued", "channel": channel},
        )
    return code


def redeem_enrolment_code(user, code: str) -> bool:
    """Spend ``code`` if it is ``user``'s, unused and unexpired. Single use, even under races."""
    with transaction.atomic():
        row = (
            TwoFactorEnrolmentCode.objects.select_for_update()
            .filter(user=user, code_hash=_hash_code(code), used_at__isnull=True, expires_at__gt=timezone.now())
            .first()
        )
        if row is None:
            audit_record(actor=user, action="login", obj=user, detail={"two_factor": "enrolment code refused"})
            return False
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
        audit_record(
            actor=user, action="login", obj=user, detail={"two_factor": "enrolment code used", "channel": row.channel}
        )
    return True


def email_enrolment_code(user) -> bool:
    """Send a fresh enrolment code to the email on file. False when there is no address or one
    was sent less than ``EMAIL_CODE_INTERVAL`` ago (nothing is sent then)."""
    if not user.email:
        return False
    recent = TwoFactorEnrolmentCode.objects.filter(
        user=user,
        channel=TwoFactorEnrolmentCode.Channel.EMAIL,
        created_at__gt=timezone.now() - EMAIL_CODE_INTERVAL,
    )
    if recent.exists():
        return False
    code = issue_enrolment_code(user, channel=TwoFactorEnrolmentCode.Channel.EMAIL)
    minutes = settings.TWO_FACTOR_ENROLMENT_CODE_MINUTES
    send_mail(
        subject="Navigator: your two-factor enrolment code",
        message=(
            f"Your one-time code to set up two-factor sign-in to Navigator is:\n\n    {code}\n\n"
            f"It works once and expires in {minutes} minutes. If you did not ask for it, "
            "someone knows your password: change it and tell your supervisor."
        ),
        from_email=None,
        recipient_list=[user.email],
    )
    return True


def new_recovery_codes(user, *, confirmed: bool = True) -> list[str]:
    """Replace ``user``'s recovery codes with a fresh set (shown once by the caller)."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": confirmed}
        )
        if device.confirmed != confirmed:
            device.confirmed = confirmed
            device.save(update_fields=["confirmed"])
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(settings.TWO_FACTOR_RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def enrolment_recovery_codes(user) -> list[str]:
    """The recovery codes shown while a device is being enrolled: made on the first visit and
    shown on reloads like the secret; they count only once the device is confirmed."""
    device = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME, confirmed=False).first()
    codes = list(device.token_set.order_by("id").values_list("token", flat=True)) if device else []
    return codes or new_recovery_codes(user, confirmed=False)


def recovery_device(user) -> StaticDevice | None:
    return StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True).first()


def reset_two_factor(user, *, by) -> None:
    """A supervisor's reset of a lost device: every device and recovery code and outstanding
    enrolment code of ``user`` goes; they enrol again with a new enrolment code."""
    with transaction.atomic():
        totp = TOTPDevice.objects.filter(user=user).delete()[0]
        passkeys = WebAuthnCredential.objects.filter(user=user).delete()[0]
        StaticDevice.objects.filter(user=user).delete()
        TwoFactorEnrolmentCode.objects.filter(user=user, used_at__isnull=True).update(expires_at=timezone.now())
        audit_record(actor=by, action="update", obj=user, detail={"two_factor": "reset", "devices": totp + passkeys})


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


def has_passkey(user) -> bool:
    return WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()


def is_enrolled(user) -> bool:
    """A confirmed authenticator app or passkey (recovery codes alone do not count)."""
    return confirmed_device(user) is not None or has_passkey(user)


def enrolment_device(user) -> TOTPDevice:
    """The pending (unconfirmed) device being enrolled, created on first visit and kept
    across page loads so the secret shown does not change under the user's feet."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=DEVICE_NAME).order_by("-id").first()
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


class TokenForm(forms.Form):
    token = forms.CharField(
        label="Six-digit code",
        max_length=12,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True}),
        help_text="Or one of your recovery codes.",
    )

    def __init__(self, *args, device: TOTPDevice | None, recovery: StaticDevice | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.device = device
        self.recovery = recovery
        self.used_device = device

    def clean_token(self) -> str:
        entered = self.cleaned_data["token"].strip()
        if self.recovery is not None and (self.device is None or not entered.isdigit()):
            return self._recovery_code(entered.lower())
        if self.device is None:
            # Signed in with passkeys only and no recovery codes left.
            raise forms.ValidationError("Use your passkey, or ask a supervisor to reset your sign-in.")
        token = "".join(ch for ch in entered if ch.isdigit())
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

    def _recovery_code(self, code: str) -> str:
        allowed, _ = self.recovery.verify_is_allowed()
        if not allowed:
            raise forms.ValidationError("Too many wrong codes; wait a minute and try again.")
        # verify_token deletes the matching token: each recovery code works once.
        if not self.recovery.verify_token(code):
            raise forms.ValidationError("This recovery code is not right or was already used.")
        self.used_device = self.recovery
        return code


class EnrolmentCodeForm(forms.Form):
    enrolment_code = forms.CharField(
        label="Enrolment code",
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
        help_text="From your supervisor, or sent to the email address on file.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_enrolment_code(self) -> str:
        code = self.cleaned_data["enrolment_code"]
        if not redeem_enrolment_code(self.user, code):
            raise forms.ValidationError("This enrolment code is not right, has expired or was already used.")
        return code


class NavigatorAdminSite(QuickAppListMixin, OTPAdminSite):
    """The admin, open only to staff verified by a TOTP device when ``ADMIN_REQUIRE_2FA`` is on."""

    # Step one stays the ordinary password form; the code is asked on its own page so staff
    # without a device yet can enrol.
    login_form = AdminAuthenticationForm
    login_template = None

    def each_context(self, request):
        context = super().each_context(request)
        if getattr(request, "nav_sidebar", True) is False:
            context["is_nav_sidebar_enabled"] = False
        return context

    def get_app_list(self, request, app_label=None):
        # A page without the navigation sidebar (``request.nav_sidebar = False``, set by the page's
        # view: the case page) does not build the list of every app and model the sidebar shows.
        if app_label is None and getattr(request, "nav_sidebar", True) is False:
            return []
        return super().get_app_list(request, app_label)

    def has_permission(self, request) -> bool:
        if two_factor_required():
            return super().has_permission(request)
        return AdminSite.has_permission(self, request)

    def get_urls(self):
        view = never_cache(csrf_protect(self.two_factor_view))
        recovery = never_cache(csrf_protect(self.recovery_codes_view))
        return [
            path("two-factor/", view, name="two_factor"),
            path("two-factor/recovery-codes/", recovery, name="two_factor_recovery_codes"),
            *super().get_urls(),
        ]

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
        passkey = has_passkey(user)
        if device is None and not passkey and request.session.get(ENROLMENT_SESSION_KEY) != user.pk:
            return self._enrolment_code_step(request, next_url)
        enrolling = device is None and not passkey
        if enrolling:
            device = enrolment_device(user)
        form = TokenForm(request.POST or None, device=device, recovery=None if enrolling else recovery_device(user))
        if request.method == "POST" and form.is_valid():
            with transaction.atomic():
                if enrolling and device is not None:
                    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
                    device.confirmed = True
                    StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).update(confirmed=True)
                    audit_record(actor=user, action="update", obj=user, detail={"two_factor": "enrolled"})
                method = "recovery_code" if form.used_device is not device else "totp"
                audit_record(actor=user, action="login", obj=user, detail={"two_factor": "verified", "method": method})
            otp_login(request, form.used_device)
            request.session.pop(ENROLMENT_SESSION_KEY, None)
            return HttpResponseRedirect(next_url)
        context = {
            **self.each_context(request),
            "title": "Set up two-factor sign-in" if enrolling else "Two-factor sign-in",
            "form": form,
            "enrolling": enrolling,
            "otpauth_uri": device.config_url if enrolling and device else "",
            "secret": _base32(device) if enrolling and device else "",
            "totp": device is not None,
            # Enrolling: a passkey may be registered instead of the app; otherwise one may be used.
            "passkey_register": enrolling,
            "passkey_sign_in": passkey,
            "recovery_codes": enrolment_recovery_codes(user) if enrolling else [],
            "next": next_url,
        }
        return TemplateResponse(request, "privacy/two_factor.html", context)

    def _enrolment_code_step(self, request, next_url):
        """Before any device is created: the one-time enrolment code, or a request to email one."""
        user = request.user
        sent = None
        form = EnrolmentCodeForm(None, user=user)
        if request.method == "POST" and request.POST.get("action") == "email_code":
            sent = email_enrolment_code(user)
        elif request.method == "POST":
            form = EnrolmentCodeForm(request.POST, user=user)
            if form.is_valid():
                request.session[ENROLMENT_SESSION_KEY] = user.pk
                url = reverse("admin:two_factor", current_app=self.name)
                from urllib.parse import urlencode

                return HttpResponseRedirect(url + "?" + urlencode({REDIRECT_FIELD_NAME: next_url}))
        context = {
            **self.each_context(request),
            "title": "Set up two-factor sign-in",
            "form": form,
            "sent": sent,
            "has_email": bool(user.email),
            "next": next_url,
        }
        return TemplateResponse(request, "privacy/two_factor_enrolment_code.html", context)

    def _show_recovery_codes(self, request, codes: list[str], next_url):
        context = {**self.each_context(request), "title": "Your recovery codes", "codes": codes, "next": next_url}
        return TemplateResponse(request, "privacy/two_factor_recovery_codes.html", context)

    def recovery_codes_view(self, request):
        """A verified staff member replaces their recovery codes (the old ones stop working)."""
        user = request.user
        if not self.has_permission(request) or (two_factor_required() and not is_enrolled(user)):
            return HttpResponseRedirect(reverse("admin:login", current_app=self.name))
        index = reverse("admin:index", current_app=self.name)
        if request.method == "POST":
            codes = new_recovery_codes(user)
            audit_record(actor=user, action="update", obj=user, detail={"two_factor": "recovery codes regenerated"})
            return self._show_recovery_codes(request, codes, index)
        device = recovery_device(user)
        context = {
            **self.each_context(request),
            "title": "Recovery codes",
            "remaining": device.token_set.count() if device else 0,
            "passkeys": WebAuthnCredential.objects.filter(user=user, confirmed=True).order_by("created_at"),
        }
        return TemplateResponse(request, "privacy/two_factor_recovery_codes.html", context)


def _base32(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")
