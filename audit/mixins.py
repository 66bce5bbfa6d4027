"""Audit applied once, by the layer that shows or changes data: the API, the admin, the portal.

The rule, everywhere:

- A **read** (a list page, a record, a download, an export) is recorded by the layer that shows
  it to a person: ``AuditedViewMixin`` for every API view, ``AuditedAdminMixin`` for every admin
  page, ``AuditedCasePageMixin`` for the portal. Selectors and services never record reads: they
  cannot know whether what they return is shown, and to whom.
- A **change** is recorded by the service that makes it (``case_transition``, ``document_accept``,
  ``travel_save``, ...), because that is the one place the API, the admin, the portal and tasks
  all pass through. Where a view or admin saves a row without a service (the generic serializer
  or form save), the mixin records the change instead. Either way it is recorded once.
- Every API action says what it does with case data, so nothing is left to memory: the standard
  actions by their names (``list`` lists, ``retrieve`` views, ``create``/``update``/``destroy``
  change), every other handler with ``@audited(...)``. An undeclared handler refuses to run
  (``ImproperlyConfigured``), and ``navigator/tests/test_audit_guard.py`` walks every route and
  admin page and fails on one that shows case data without recording it.

What is recorded for a read is the object the view resolved (``get_object``), the rows of the page
(``paginate_queryset``), or what the handler names with ``audit_shown`` when it shows other rows
(a referral's messages, a packet): the mixin writes them after a successful response, in one
INSERT, with ``{"via": "api", "action": <handler>}``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, models
from django.db.models.query import ValuesIterable

from .services import audit_page_in_its_query, audit_record, audit_record_many, audit_record_page, audit_record_rows

READS = frozenset({"view", "list", "download", "export"})
CHANGE = "change"  # the handler changes data through a service, which records it
NOTHING = "none"  # the handler shows no case data (a protocol answer such as an upload's offset)
KINDS = READS | {CHANGE, NOTHING}
SAFE = ("GET", "HEAD")

# What the standard ViewSet actions do; every other handler declares it with @audited.
STANDARD_ACTIONS = {
    "list": {"GET": "list"},
    "retrieve": {"GET": "view"},
    "create": {"POST": CHANGE},
    "update": {"PUT": CHANGE},
    "partial_update": {"PATCH": CHANGE},
    "destroy": {"DELETE": CHANGE},
}

Kind = str | Callable[[Any], str]


def audited(get: Kind | None = None, *, detail: dict | Callable[[Any], dict] | None = None, **methods: Kind):
    """Declare what an API handler does with case data, per HTTP method.

    ``@audited("view")`` a GET shows data; ``@audited("download", post="change")`` a GET downloads
    and a POST changes (the service records it); a kind may be a callable of the view, e.g. a
    download that is a view when shown inline. ``detail`` (a dict, or a callable of the view) is
    added to each recorded event. Methods left out are not allowed to reach the handler.
    """
    declared = {name.upper(): kind for name, kind in methods.items()}
    if get is not None:
        declared["GET"] = get
    for kind in declared.values():
        if isinstance(kind, str) and kind not in KINDS:
            raise ImproperlyConfigured(f"Unknown audit kind {kind!r}; use one of {sorted(KINDS)}.")

    def decorate(func):
        func.audit = {"methods": declared, "detail": detail}
        return func

    return decorate


class AuditedViewMixin:
    """Records every read made through an API view, and the changes no service records.

    Works for ViewSets (the handler is ``self.action``) and plain APIViews (the handler is the
    method). A list records one event per row shown, in a single INSERT.
    """

    # Write actions whose services record the change themselves: not recorded twice.
    service_audited_actions: frozenset[str] = frozenset()

    # --- what the handler declared ---------------------------------------------------------
    def _audit_handler(self, request):
        action = getattr(self, "action", None)
        if action is None and not hasattr(self, "action_map"):
            action = request.method.lower()
        return action

    def _audit_declaration(self, request) -> tuple[str | None, Any]:
        """(kind, extra detail) for this request; raises if the handler declared nothing."""
        handler = self._audit_handler(request)
        if handler is None or request.method == "OPTIONS":
            return None, {}
        declaration = getattr(getattr(self, handler, None), "audit", None)
        if declaration is None and handler in STANDARD_ACTIONS:
            declaration = {"methods": STANDARD_ACTIONS[handler], "detail": None}
        method = request.method
        if declaration is not None and method == "HEAD" and method not in declaration["methods"]:
            method = "GET"
        if declaration is None or method not in declaration["methods"]:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.{handler} does not declare what {method} does with case data: "
                "decorate it with @audited(...) (audit/mixins.py)."
            )
        kind = declaration["methods"][method]
        kind = kind(self) if callable(kind) else kind
        return kind, declaration["detail"]

    def initial(self, request, *args, **kwargs):
        self._audit_objects: list[models.Model] = []
        self._audit_rows: list[tuple[str, list[tuple]]] = []
        self._audit_subject = None
        self._audit_listed = False
        super().initial(request, *args, **kwargs)
        self._audit_kind, self._audit_detail = self._audit_declaration(request)

    # --- what the handler showed -----------------------------------------------------------
    def audit_shown(self, objects: models.Model | Iterable[models.Model]) -> None:
        """Name the rows a handler showed, when they are not the view's own object."""
        if isinstance(objects, models.Model):
            self._audit_objects.append(objects)
        else:
            self._audit_objects.extend(objects)
        self._audit_listed = True

    def audit_shown_rows(self, object_type: str, rows: list[tuple]) -> None:
        """Rows shown from plain data, as (object_id, case_id, case_reference)."""
        self._audit_rows.append((object_type, rows))
        self._audit_listed = True

    # For a list built from .values() whose rows name their case by columns: (object id, case id,
    # case reference). On PostgreSQL its page then records itself, in its own query.
    audit_page_columns: tuple[str, str, str] | None = None

    def paginate_queryset(self, queryset):
        columns = self.audit_page_columns
        if (
            columns is not None
            and getattr(self, "_audit_kind", None) in READS
            and connections[queryset.db].vendor == "postgresql"
            and issubclass(queryset._iterable_class, ValuesIterable)
        ):
            paginator = self.paginator
            cursor = paginator.decode_cursor(self.request)
            with audit_page_in_its_query(
                actor=self.request.user,
                action=self._audit_kind,
                object_type=queryset.model._meta.label,
                detail=self._audit_detail_of(self.request),
                columns=columns,
                shown=paginator.get_page_size(self.request),
                reverse=cursor is not None and cursor.reverse,
                using=queryset.db,
            ):
                page = super().paginate_queryset(queryset)
            self._audit_listed = True
            return page
        page = super().paginate_queryset(queryset)
        if page is not None and getattr(self, "_audit_kind", None) in READS:
            if page and isinstance(page[0], dict):
                # A list built from .values(): the view says how rows map to cases.
                self.audit_shown_rows(queryset.model._meta.label, [self.audit_row(row) for row in page])
            else:
                self.audit_shown(page)
        return page

    def audit_row(self, row: dict) -> tuple:
        """(object_id, case_id, case_reference) of a row from a .values() list."""
        return (row["id"], row.get("case_id"), row.get("case__reference", ""))

    def get_object(self):
        obj = super().get_object()
        if getattr(self, "_audit_subject", None) is None:
            self._audit_subject = obj
        return obj

    # --- recording -------------------------------------------------------------------------
    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        kind = getattr(self, "_audit_kind", None)
        if kind in READS and 200 <= response.status_code < 300:
            self._audit_record_reads(request, response, kind)
        return response

    def _audit_detail_of(self, request) -> dict:
        extra = self._audit_detail(self) if callable(self._audit_detail) else self._audit_detail
        return {"via": "api", "action": self._audit_handler(request), **(extra or {})}

    def _audit_record_reads(self, request, response, kind: str) -> None:
        handler = self._audit_handler(request)
        # A response may say what it held (an export's contents): ``response.audit_detail``.
        detail = {**self._audit_detail_of(request), **getattr(response, "audit_detail", {})}
        objects = self._audit_objects
        if not objects and not self._audit_rows and self._audit_subject is not None:
            objects = [self._audit_subject]
        if not objects and not self._audit_rows and not self._audit_listed:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.{handler} answered a read but named nothing it showed: "
                "resolve the object with get_object() or name the rows with audit_shown()."
            )
        if len(objects) == 1:
            audit_record(actor=request.user, action=kind, obj=objects[0], detail=detail)
        elif objects:
            by_type: dict[type, list] = {}
            for obj in objects:
                by_type.setdefault(type(obj), []).append(obj)
            for same in by_type.values():
                audit_record_many(actor=request.user, action=kind, objects=same, detail=detail)
        for object_type, rows in self._audit_rows:
            audit_record_rows(actor=request.user, action=kind, object_type=object_type, rows=rows, detail=detail)

    # --- changes no service records --------------------------------------------------------
    def perform_create(self, serializer):
        super().perform_create(serializer)
        if self.action in self.service_audited_actions:
            return
        audit_record(actor=self.request.user, action="create", obj=serializer.instance, detail={"via": "api"})

    def perform_update(self, serializer):
        super().perform_update(serializer)
        if self.action in self.service_audited_actions:
            return
        audit_record(
            actor=self.request.user,
            action="update",
            obj=serializer.instance,
            detail={"via": "api", "fields": sorted(serializer.validated_data)},
        )

    def perform_destroy(self, instance):
        if self.action not in self.service_audited_actions:
            audit_record(actor=self.request.user, action="delete", obj=instance, detail={"via": "api"})
        super().perform_destroy(instance)


# The name the ViewSets were built with.
AuditedViewSetMixin = AuditedViewMixin


class AuditedAdminMixin:
    """Records every admin page that shows case data, and the saves and deletes the admin makes.

    - the list page: one event naming the rows shown (as the API's lists), whatever the page size;
    - the change form (also when read-only), the field history and an old version;
    - custom pages: wrap them with ``audited_admin_view`` (in ``get_urls``), which records the
      admin's object named by the URL after a successful answer;
    - admin actions that show or hand out data (an export, an intermediate page listing the
      selected rows): decorate them with ``audited_admin_action(kind)``.
    """

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and changelist is not None and response.status_code == 200:
            audit_record_page(
                actor=request.user, action="list", objects=changelist.result_list, detail={"via": "admin"}
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", 200) == 200:
            obj = self.get_object(request, unquote(object_id))
            if obj is not None:
                audit_record(actor=request.user, action="view", obj=obj, detail={"via": "admin"})
                self._audit_inline_rows(request, response)
        return response

    def _audit_inline_rows(self, request, response):
        """Rows of inlines marked ``audit_rows = True`` (identity data shown on the parent's page),
        one event per row, once per page."""
        shown: dict[tuple, models.Model] = {}
        for inline_formset in (getattr(response, "context_data", None) or {}).get("inline_admin_formsets", []):
            if getattr(inline_formset.opts, "audit_rows", False):
                for form in inline_formset.formset.initial_forms:
                    shown[(type(form.instance), form.instance.pk)] = form.instance
        by_type: dict[type, list] = {}
        for (model, _pk), obj in shown.items():
            by_type.setdefault(model, []).append(obj)
        for rows in by_type.values():
            detail = {"via": f"admin-{self.model._meta.model_name}"}
            audit_record_many(actor=request.user, action="view", objects=rows, detail=detail)

    def history_view(self, request, object_id, extra_context=None):
        # The field-level history shows every earlier value of the record.
        response = super().history_view(request, object_id, extra_context)
        self._audit_history_read(request, response, object_id)
        return response

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        response = super().history_form_view(request, object_id, version_id, extra_context)
        self._audit_history_read(request, response, object_id, version_id=version_id)
        return response

    def _audit_history_read(self, request, response, object_id, **detail):
        if request.method != "GET" or getattr(response, "status_code", 200) != 200:
            return
        obj = self.get_object(request, unquote(object_id))
        if obj is not None:
            detail = {"via": "admin", "page": "history", **{k: str(v) for k, v in detail.items()}}
            audit_record(actor=request.user, action="view", obj=obj, detail=detail)

    def audited_admin_view(self, view, kind: str = "view", *, page: str = "", detail=None):
        """Wrap a custom admin page whose URL names one of this admin's objects (its first
        argument after the request). A successful answer records ``kind`` on that object;
        ``detail`` (a callable of the request) adds to the event."""
        if kind not in READS and not callable(kind):
            raise ImproperlyConfigured(f"Unknown audit kind {kind!r}; use one of {sorted(READS)}.")

        @wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            if request.method in SAFE and 200 <= getattr(response, "status_code", 200) < 300:
                object_id = args[0] if args else next(iter(kwargs.values()))
                obj = self.get_object(request, unquote(str(object_id)))
                if obj is not None:
                    extra = detail(request) if callable(detail) else {}
                    extra.update(getattr(response, "audit_detail", {}))
                    audit_record(
                        actor=request.user,
                        action=kind(request) if callable(kind) else kind,
                        obj=obj,
                        detail={"via": "admin", "page": page or view.__name__, **extra},
                    )
            return response

        return wrapper

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="update" if change else "create",
            obj=obj,
            detail={"via": "admin", "fields": sorted(form.changed_data)},
        )

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="delete", obj=obj, detail={"via": "admin"})
        super().delete_model(request, obj)


def audited_admin_action(kind: str):
    """An admin action that shows or hands out the selected rows (an export, a page listing
    them): each selected row is recorded as ``kind`` when the action answers with a page."""
    if kind not in READS:
        raise ImproperlyConfigured(f"Unknown audit kind {kind!r}; use one of {sorted(READS)}.")

    def decorate(func):
        @wraps(func)
        def wrapper(modeladmin, request, queryset):
            response = func(modeladmin, request, queryset)
            if response is not None and 200 <= getattr(response, "status_code", 200) < 300:
                detail = {"via": "admin", "page": func.__name__, **getattr(response, "audit_detail", {})}
                audit_record_many(actor=request.user, action=kind, objects=queryset, detail=detail)
            return response

        return wrapper

    return decorate


class AuditedCasePageMixin:
    """A portal page about one case (``get_case()``): every successful GET is recorded as a read
    of the case, named by its page. ``audit_kind`` is ``"download"`` for files. Put it before
    the portal's ``CaseMixin``, so sign-in and visibility are checked first."""

    audit_page = ""
    audit_kind = "view"

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        if request.method in SAFE and 200 <= response.status_code < 300:
            page = self.audit_page or request.resolver_match.url_name
            audit_record(
                actor=request.user,
                action=self.audit_kind,
                obj=self.get_case(),
                detail={"via": "portal", "page": page, **getattr(response, "audit_detail", {})},
            )
        return response
