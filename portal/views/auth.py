"""Signing in and out, invitations, two-factor, password reset, language."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.generic import TemplateView

from accounts.roles import is_family
from audit.services import audit_record

from .. import services
from ..forms import AcceptInvitationForm, FamilyPasswordResetForm, PortalLoginForm, TokenForm
from ..languages import portal_language
from ..mixins import LAST_SEEN_KEY, FamilyRequiredMixin, PortalPageMixin
from ..ratelimit import hit, login_limit

PENDING_KEY = "portal_2fa_pending"
PENDING_SECONDS = 5 * 60


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def _finish_login(request, user, backend: str):
    login(request, user, backend=backend)
    request.session[LAST_SEEN_KEY] = int(time.time())
    audit_record(actor=user, action="login", obj=user, detail={"via": "portal"})
    response = HttpResponseRedirect(_safe_next(request, reverse("portal:home")))
    language = portal_language(user.preferred_language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
        max_age=settings.LANGUAGE_COOKIE_AGE,
    )
    return response


@method_decorator([sensitive_post_parameters("password"), csrf_protect, never_cache], name="dispatch")
class LoginView(PortalPageMixin, TemplateView):
    """Password first; then, if the family turned two-factor on, a code from their app."""

    template_name = "portal/login.html"
    section = "login"

    def get(self, request, *args, **kwargs):
        if is_family(request.user):
            return redirect("portal:home")
        return self.render_to_response(self.get_context_data(form=PortalLoginForm(request)))

    def post(self, request, *args, **kwargs):
        limit, window = login_limit()
        if not hit(request, "login", limit=limit, window_seconds=window):
            context = self.get_context_data(form=PortalLoginForm(request), rate_limited=True)
            return self.render_to_response(context, status=429)
        form = PortalLoginForm(request, data=request.POST)
        if not form.is_valid():
            # A locked-out attempt is answered by axes' middleware with its lock-out page.
            return self.render_to_response(self.get_context_data(form=form), status=200)
        user = form.get_user()
        if services.two_factor_enabled(user):
            request.session.cycle_key()
            request.session[PENDING_KEY] = {"user": user.pk, "backend": user.backend, "at": int(time.time())}
            verify = reverse("portal:login_verify")
            next_url = _safe_next(request, "")
            return redirect(f"{verify}?next={next_url}" if next_url else verify)
        return _finish_login(request, user, user.backend)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["next"] = _safe_next(self.request, "")
        return context


@method_decorator([csrf_protect, never_cache], name="dispatch")
class LoginVerifyView(PortalPageMixin, TemplateView):
    template_name = "portal/login_verify.html"
    section = "login"

    def _pending_user(self):
        pending = self.request.session.get(PENDING_KEY)
        if not pending or int(time.time()) - int(pending.get("at", 0)) > PENDING_SECONDS:
            return None, None
        user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
        return user, pending.get("backend")

    def get(self, request, *args, **kwargs):
        user, _backend = self._pending_user()
        if user is None:
            messages.info(request, _("Please sign in again."))
            return redirect("portal:login")
        return self.render_to_response(self.get_context_data(form=TokenForm()))

    def post(self, request, *args, **kwargs):
        user, backend = self._pending_user()
        if user is None:
            messages.info(request, _("Please sign in again."))
            return redirect("portal:login")
        form = TokenForm(request.POST)
        if form.is_valid() and services.two_factor_verify(user=user, token=form.cleaned_data["token"]):
            request.session.pop(PENDING_KEY, None)
            return _finish_login(request, user, backend)
        if form.is_valid():
            form.add_error("token", _("This code is not right or has expired. Enter the newest code from your app."))
        return self.render_to_response(self.get_context_data(form=form))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["next"] = _safe_next(self.request, "")
        return context


class LogoutView(auth_views.LogoutView):
    next_page = reverse_lazy("portal:login")

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        messages.info(request, _("You are signed out."))
        # Nothing of the family's stays on the device: caches (the app shell too), IndexedDB and
        # local storage (uploads in progress) and the service worker go with the session.
        response["Clear-Site-Data"] = '"cache", "storage"'
        return response


@method_decorator([sensitive_post_parameters("password1", "password2"), csrf_protect, never_cache], name="dispatch")
class AcceptInvitationView(PortalPageMixin, TemplateView):
    """The link from the invitation email: choose a user name (first time) and a password."""

    template_name = "portal/accept_invitation.html"
    section = "login"

    def dispatch(self, request, *args, **kwargs):
        self.invitation = services.invitation_for_token(kwargs["token"])
        return super().dispatch(request, *args, **kwargs)

    def _invalid(self):
        return render(
            self.request,
            "portal/invitation_invalid.html",
            self.get_context_data(invitation=self.invitation),
            status=410 if self.invitation else 404,
        )

    def get(self, request, *args, **kwargs):
        if self.invitation is None or not self.invitation.is_usable:
            return self._invalid()
        initial = {"username": self._suggested_username()}
        return self.render_to_response(self.get_context_data(form=AcceptInvitationForm(initial=initial)))

    def post(self, request, *args, **kwargs):
        if self.invitation is None or not self.invitation.is_usable:
            return self._invalid()
        form = AcceptInvitationForm(request.POST)
        if form.is_valid():
            try:
                user = services.invitation_accept(
                    raw_token=kwargs["token"],
                    username=form.cleaned_data["username"],
                    password=form.cleaned_data["password1"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    for field, errors in exc.message_dict.items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(request, _("Your password is set. Welcome to the portal."))
                return _finish_login(request, user, "accounts.backends.RoleBackend")
        return self.render_to_response(self.get_context_data(form=form))

    def _suggested_username(self) -> str:
        contact = self.invitation.contact
        if contact.user_id:
            return contact.user.username
        return self.invitation.email.lower()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        invitation = getattr(self, "invitation", None)
        context["existing_account"] = bool(invitation and invitation.contact.user_id)
        return context


class SetLanguageView(PortalPageMixin, View):
    """Switch the language; a signed-in family's choice is kept in their profile too."""

    def post(self, request, *args, **kwargs):
        language = portal_language(request.POST.get("language"))
        response = HttpResponseRedirect(_safe_next(request, reverse("portal:home")))
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            samesite="Lax",
            secure=settings.SESSION_COOKIE_SECURE,
            max_age=settings.LANGUAGE_COOKIE_AGE,
        )
        services.user_language_set(user=request.user, language=language)
        return response


# --- Password reset: Django's views in the portal's look -------------------------------------


class PasswordResetView(PortalPageMixin, auth_views.PasswordResetView):
    template_name = "portal/password_reset_form.html"
    form_class = FamilyPasswordResetForm
    email_template_name = "portal/email/password_reset.txt"
    subject_template_name = "portal/email/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")
    extra_email_context = {"site_url": settings.SITE_URL.rstrip("/")}

    def form_valid(self, form):
        if not hit(self.request, "password-reset", limit=10, window_seconds=3600):
            # Silently stop sending: the page says the same thing whether or not mail went out.
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetDoneView(PortalPageMixin, auth_views.PasswordResetDoneView):
    template_name = "portal/password_reset_done.html"


class PasswordResetConfirmView(PortalPageMixin, auth_views.PasswordResetConfirmView):
    template_name = "portal/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")


class PasswordResetCompleteView(PortalPageMixin, auth_views.PasswordResetCompleteView):
    template_name = "portal/password_reset_complete.html"


class PasswordChangeView(FamilyRequiredMixin, auth_views.PasswordChangeView):
    template_name = "portal/password_change.html"
    success_url = reverse_lazy("portal:account")
    section = "account"

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, _("Your password is changed."))
        return response
