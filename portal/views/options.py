"""The family's page of other treatments and studies their coordinator shortlisted and shared."""

from __future__ import annotations

from django.utils import translation

from options.family import explain
from options.selectors import family_options

from .pages import AuditedCasePage


class OptionsView(AuditedCasePage):
    template_name = "portal/options.html"
    section = "options"
    audit_page = "options"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entries = family_options(self.get_case(), self.request.user)
        context["options"] = [explain(entry.option) for entry in entries]
        context["in_english"] = (translation.get_language() or "en").startswith("en")
        return context
