"""The one base class of every admin page and inline that shows case data."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.admin import widgets
from django.db import models

from accounts.access import visible
from audit.mixins import AuditedAdminMixin


class LabelledSplitDateTime(widgets.AdminSplitDateTime):
    """Django's date and time inputs, each with a label of its own (the field's label names neither)."""

    template_name = "admin/widgets/split_datetime_labelled.html"


class VisibleAdmin(AuditedAdminMixin):
    """Shows only the rows the signed-in user may see (the model's declared rule, applied by
    ``accounts.access.visible``), and records every read and change (``AuditedAdminMixin``).

    Put it first, before the Django class it completes::

        class DocumentAdmin(VisibleAdmin, admin.ModelAdmin): ...
        class CaseAdmin(VisibleAdmin, SimpleHistoryAdmin): ...
        class DocumentInline(VisibleAdmin, admin.TabularInline): ...

    A row another user may not see is absent from lists and answers "not found" on its page.
    """

    formfield_overrides: Mapping[type[models.Field], Mapping[str, Any]] = {
        models.DateTimeField: {"widget": LabelledSplitDateTime}
    }

    def get_queryset(self, request):
        return visible(super().get_queryset(request), request.user)

    def get_autocomplete_fields(self, request):
        """A form that picks a case does so by reference or patient name (the case admin's search,
        ``cases.selectors.case_search``), never by the internal number nor from a list of every case."""
        fields = list(super().get_autocomplete_fields(request))
        model = getattr(self, "model", None)
        if model is None:
            return fields
        for field in model._meta.get_fields():
            remote = getattr(getattr(field, "remote_field", None), "model", None)
            if (
                field.many_to_one
                and field.concrete
                and remote is not None
                and remote._meta.label == "cases.Case"
                and field.name not in fields
                and field.name != getattr(self, "fk_name", None)
            ):
                fields.append(field.name)
        return fields
