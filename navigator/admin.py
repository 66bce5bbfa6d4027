"""The one base class of every admin page and inline that shows case data, and the admin site's
quicker app list."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.admin import widgets
from django.db import models
from django.urls import NoReverseMatch, get_script_prefix, get_urlconf, reverse
from django.utils.text import capfirst
from django.utils.translation import get_language

from accounts.access import visible
from audit.mixins import AuditedAdminMixin


class LabelledSplitDateTime(widgets.AdminSplitDateTime):
    """Django's date and time inputs, each with a label of its own (the field's label names neither)."""

    template_name = "admin/widgets/split_datetime_labelled.html"


class ReadOnlyAdmin:
    """A record that is written by the services alone (audit events, packet versions, follow-up
    results, ...): the admin lists and shows it, and offers no add, change or delete."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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

    def get_actions(self, request):
        """Django asks for a list's actions three times a page (the check-box column, the page,
        the drop-down), and each time asks the permissions of every action: once a request here."""
        answers = request.__dict__.setdefault("_navigator_admin_actions", {})
        if self not in answers:
            answers[self] = super().get_actions(request)
        return answers[self]

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


class QuickAppListMixin:
    """An admin site whose app list (every page's sidebar) is worked out once, not on every page.

    Django's ``AdminSite._build_app_dict`` also reverses two URLs and translates the name of every
    registered model on every page: about a hundred ``reverse()`` calls, a quarter of the list's
    time. Names and URLs depend only on the language and the URL configuration, so they are
    worked out once for each; which models and links a user gets is decided exactly as Django
    does (``has_module_permission``, ``get_model_perms``), and kept for the user for
    ``APP_LIST_SECONDS``. The result is Django's list, with names as text instead of lazy
    translations of the same text.
    """

    # A user's app list (every page's sidebar) is kept for this long in the process: it asks about
    # five permission questions for each of some sixty models, a tenth of a changelist's time.
    # A change of role is seen at once (it is part of the key); a permission granted or revoked
    # in the database reaches the sidebar within this time (the pages themselves check at once).
    APP_LIST_SECONDS = 30
    APP_LIST_USERS = 1000

    def _build_app_dict(self, request, label=None):
        if label is not None:
            return self._app_dict(request, label)
        user = request.user
        key = (
            user.pk,
            getattr(user, "role", None),
            user.is_active,
            user.is_staff,
            user.is_superuser,
            self._names_key(),
        )
        kept = self.__dict__.setdefault("_app_lists", {})
        now = time.monotonic()
        found = kept.get(key)
        if found is None or now - found[0] > self.APP_LIST_SECONDS:
            if len(kept) >= self.APP_LIST_USERS:
                kept.clear()
            found = kept[key] = (now, self._app_dict(request, None))
        # Django sorts the lists it is given in place: each page gets its own copies.
        return {label: {**app, "models": [dict(m) for m in app["models"]]} for label, app in found[1].items()}

    def _app_dict(self, request, label):
        names = self._names_and_urls()
        app_dict: dict[str, dict] = {}
        for model, model_admin in self._registry.items():
            app_label = model._meta.app_label
            if label and app_label != label:
                continue
            has_module_perms = model_admin.has_module_permission(request)
            if not has_module_perms:
                continue
            perms = model_admin.get_model_perms(request)
            if True not in perms.values():
                continue
            name, admin_url, add_url, app_name, app_url = names[model]
            model_dict = {
                "model": model,
                "name": name,
                "object_name": model._meta.object_name,
                "perms": perms,
                "admin_url": None,
                "add_url": None,
            }
            if perms.get("change") or perms.get("view"):
                model_dict["view_only"] = not perms.get("change")
                model_dict["admin_url"] = admin_url
            if perms.get("add"):
                model_dict["add_url"] = add_url
            if app_label in app_dict:
                app_dict[app_label]["models"].append(model_dict)
            else:
                app_dict[app_label] = {
                    "name": app_name,
                    "app_label": app_label,
                    "app_url": app_url,
                    "has_module_perms": has_module_perms,
                    "models": [model_dict],
                }
        return app_dict

    def _names_and_urls(self) -> dict:
        """{model: (name, changelist URL, add URL, app name, app URL)} for the current language
        and URL configuration (URLs that do not resolve are None, as in Django's list)."""
        key = self._names_key()
        cache = self.__dict__.setdefault("_app_list_names", {})
        names = cache.get(key)
        if names is None:
            names = {}
            for model in self._registry:
                info = (model._meta.app_label, model._meta.model_name)
                names[model] = (
                    str(capfirst(model._meta.verbose_name_plural)),
                    self._reverse_or_none("admin:{}_{}_changelist".format(*info)),
                    self._reverse_or_none("admin:{}_{}_add".format(*info)),
                    str(apps.get_app_config(info[0]).verbose_name),
                    reverse("admin:app_list", kwargs={"app_label": info[0]}, current_app=self.name),
                )
            if len(cache) > 64:  # languages x URL configurations: a handful in practice
                cache.clear()
            cache[key] = names
        return names

    def _names_key(self) -> tuple:
        return (get_language(), get_urlconf() or settings.ROOT_URLCONF, get_script_prefix(), tuple(self._registry))

    def _reverse_or_none(self, name: str) -> str | None:
        try:
            return reverse(name, current_app=self.name)
        except NoReverseMatch:
            return None
