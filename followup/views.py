"""The home haematologist's pages, reached by a signed link (no account): the handback, its PDF
and FHIR Bundle, and a form to post follow-up results. Every use of the link is logged on the
link; every page shown and every refusal is in the audit trail, as the link's contact."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.decorators.cache import never_cache

from audit.context import client_ip
from audit.services import audit_record
from navigator.errors import DomainError

from .forms import ResultForm
from .handback import pdf_language
from .models import HOME_LANGUAGES
from .selectors import handback_latest, results_for
from .services import LinkRefused, link_actor, link_open, result_post

LANGUAGE_CODES = {code for code, _name in HOME_LANGUAGES}
SECOND_LANGUAGE = {"zh": _("Chinese"), "ru": _("Russian")}


def chosen_language(request) -> str | None:
    """A language the doctor picked on the page (``?lang=``), if it is one of the page's."""
    code = request.GET.get("lang", "")
    return code if code in LANGUAGE_CODES else None


@method_decorator(never_cache, name="dispatch")
class HomeLinkView(View):
    """Opens the link named by the URL (recording the use), answers 410 for a revoked or expired
    one and 404 for an unknown token, and records what a successful GET showed. Pages are in the
    home haematologist's language unless they pick another (``?lang=``); a refusal is in the
    browser's."""

    page = "handback"
    audit_kind = "view"

    def dispatch(self, request, *args, **kwargs):
        try:
            self.link = link_open(token=kwargs["token"], page=self.page, ip=client_ip.get())
        except LinkRefused as refused:
            return render(request, "followup/link_invalid.html", {"why": refused.outcome}, status=410)
        if self.link is None:
            raise Http404
        self.case = self.link.case
        self.handback = handback_latest(self.case)
        language = chosen_language(request) or self.link.haematologist.language
        language = language if language in LANGUAGE_CODES else "en"
        with translation.override(language):
            response = super().dispatch(request, *args, **kwargs)
        response.headers.setdefault("Content-Language", language)
        if request.method in ("GET", "HEAD") and response.status_code == 200:
            audit_record(
                actor=link_actor(self.link),
                action=self.audit_kind,
                obj=self.handback or self.case,
                case=self.case,
                detail={"via": "home-link", "page": self.page, "link": self.link.pk},
            )
        return response


class HandbackPage(HomeLinkView):
    def get(self, request, token):
        return self.render(request, ResultForm())

    def post(self, request, token):
        form = ResultForm(request.POST)
        if form.is_valid():
            try:
                result_post(case=self.case, actor=link_actor(self.link), link=self.link, **form.cleaned_data)
            except DomainError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
            else:
                query = {"posted": "1", **({"lang": chosen_language(request)} if chosen_language(request) else {})}
                return redirect(f"{request.path}?{urlencode(query)}")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        content = self.handback.content if self.handback else None
        context = {
            "link": self.link,
            "case": self.case,
            "handback": self.handback,
            "content": content,
            # The sources of a visit are stored joined; each is shown (and translated) on its own.
            "schedule": [
                {**v, "sources": [s for s in v.get("source", "").split("; ") if s]}
                for v in (content or {}).get("schedule", [])
            ],
            "results": results_for(self.case),
            "form": form,
            "posted": request.GET.get("posted") == "1",
            "second_language": SECOND_LANGUAGE[pdf_language(self.link.haematologist.language)],
            "languages": HOME_LANGUAGES,
        }
        return render(request, "followup/handback.html", context, status=status)


class HandbackFile(HomeLinkView):
    audit_kind = "download"

    def get(self, request, token, fmt):
        if self.handback is None:
            raise Http404
        reference = self.case.reference
        if fmt == "pdf":
            response = HttpResponse(bytes(self.handback.pdf), content_type="application/pdf")
            name = f"handback-{reference}-v{self.handback.version}.pdf"
        else:
            body = json.dumps(self.handback.bundle, ensure_ascii=False, indent=2)
            response = HttpResponse(body, content_type="application/fhir+json")
            name = f"handback-{reference}-v{self.handback.version}.fhir.json"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response

    def dispatch(self, request, *args, **kwargs):
        self.page = f"handback.{kwargs.get('fmt', '')}"
        return super().dispatch(request, *args, **kwargs)
