"""The home haematologist's pages, reached by a signed link (no account): the handback, its PDF
and FHIR Bundle, and a form to post follow-up results. Every use of the link is logged on the
link; every page shown and every refusal is in the audit trail, as the link's contact."""

from __future__ import annotations

import json

from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.cache import never_cache

from audit.context import client_ip
from audit.services import audit_record
from navigator.errors import DomainError

from .forms import ResultForm
from .handback import pdf_language
from .selectors import handback_latest, results_for
from .services import LinkRefused, link_actor, link_open, result_post


@method_decorator(never_cache, name="dispatch")
class HomeLinkView(View):
    """Opens the link named by the URL (recording the use), answers 410 for a revoked or expired
    one and 404 for an unknown token, and records what a successful GET showed."""

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
        response = super().dispatch(request, *args, **kwargs)
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
                return redirect(request.path + "?posted=1")
        return self.render(request, form, status=400)

    def render(self, request, form, status=200):
        context = {
            "link": self.link,
            "case": self.case,
            "handback": self.handback,
            "content": self.handback.content if self.handback else None,
            "results": results_for(self.case),
            "form": form,
            "posted": request.GET.get("posted") == "1",
            "second_language": {"zh": "Chinese", "ru": "Russian"}[pdf_language(self.link.haematologist.language)],
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
