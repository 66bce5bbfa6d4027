"""The portal as an installable app: its manifest, its service worker and the offline page."""

from __future__ import annotations

import hashlib

from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from ..mixins import PortalPageMixin


class ManifestView(PortalPageMixin, View):
    """The web app manifest, named in the reader's language."""

    def get(self, request, *args, **kwargs):
        home = reverse("portal:home")
        language = translation.get_language() or "en"
        data = {
            "name": _("Navigator family portal"),
            "short_name": _("Navigator"),
            "lang": language,
            "dir": "rtl" if translation.get_language_bidi() else "ltr",
            "start_url": home,
            "scope": home,
            "display": "standalone",
            "background_color": "#f6f7f9",
            "theme_color": "#0b5cad",
            "icons": [
                {"src": static("portal/icon-192.png"), "sizes": "192x192", "type": "image/png"},
                {"src": static("portal/icon-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "any"},
            ],
        }
        response = JsonResponse(
            data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False}
        )
        response["Cache-Control"] = "no-cache"
        return response


class ServiceWorkerView(View):
    """The service worker, from the portal's root so that it may serve every portal page."""

    def get(self, request, *args, **kwargs):
        # A new shell (static files change their hashed names) makes a new cache; the old one goes.
        shell = " ".join(static(f"portal/{name}") for name in ("portal.css", "upload.js", "app.js", "icon-192.png"))
        version = hashlib.sha256(shell.encode()).hexdigest()[:12]
        body = render_to_string("portal/sw.js", {"version": version})
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
        response["Service-Worker-Allowed"] = reverse("portal:home")
        response["Cache-Control"] = "no-cache"
        return response


class OfflineView(PortalPageMixin, TemplateView):
    """What the service worker shows when a page cannot be reached: no case data."""

    template_name = "portal/offline.html"
    section = "offline"
