"""What every portal page does first: language, time zone, idle sign-out, who may enter."""

from __future__ import annotations

import time
import zoneinfo

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.roles import is_family
from cases.models import Case

from .languages import portal_language, portal_languages

LAST_SEEN_KEY = "portal_last_seen"


def idle_timeout_seconds() -> int:
    return getattr(settings, "PORTAL_IDLE_TIMEOUT_SECONDS", 30 * 60)


class PortalPageMixin:
    """Activates the family's language and time zone for the page, and offers the switcher.

    The language is the one chosen in the switcher (the language cookie), else the user's
    profile language; the portal is complete in English, Chinese, Arabic and Russian, so anything
    else falls back to English rather than a half-translated page.
    """

    section = ""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if not chosen and user.is_authenticated:
            chosen = user.preferred_language
        language = portal_language(chosen or translation.get_language())
        translation.activate(language)
        request.LANGUAGE_CODE = language
        tz = self._time_zone(user)
        timezone.activate(tz)
        try:
            response = super().dispatch(request, *args, **kwargs)
            # A TemplateResponse renders after the view returns, when this zone would be gone:
            # render it now, so dates and times on the page are in the family's zone.
            if callable(getattr(response, "render", None)) and not getattr(response, "is_rendered", True):
                response.render()
            return response
        finally:
            timezone.deactivate()

    @staticmethod
    def _time_zone(user):
        name = getattr(user, "time_zone", "") if user.is_authenticated else ""
        try:
            return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return zoneinfo.ZoneInfo("UTC")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("portal_languages", portal_languages())
        context.setdefault("section", self.section)
        return context


class FamilyRequiredMixin(PortalPageMixin):
    """Only signed-in family members; a session idle for too long is signed out."""

    def dispatch(self, request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        now = int(time.time())
        last_seen = request.session.get(LAST_SEEN_KEY)
        if last_seen is not None and now - int(last_seen) > idle_timeout_seconds():
            logout(request)
            response = redirect(reverse("portal:login"))
            messages.info(request, _("You were signed out after a period of inactivity. Please sign in again."))
            return response
        request.session[LAST_SEEN_KEY] = now
        if not is_family(user):
            # Staff have the admin; the portal shows only what a family may see.
            raise Http404
        return super().dispatch(request, *args, **kwargs)


class CaseMixin(FamilyRequiredMixin):
    """A page about one case; a case the family may not see does not exist (404)."""

    case_url_kwarg = "case_id"

    def get_case(self) -> Case:
        if not hasattr(self, "_case"):
            case = (
                Case.objects.visible_to(self.request.user)
                .select_related("patient", "coordinator")
                .filter(pk=self.kwargs[self.case_url_kwarg])
                .first()
            )
            if case is None:
                raise Http404
            self._case = case
        return self._case

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["case"] = self.get_case()
        return context
