"""Audit applied once, by mixins, for the API and the admin alike."""

from __future__ import annotations

from django.contrib.admin.utils import unquote

from .services import audit_record, audit_record_many, audit_record_rows


class AuditedViewSetMixin:
    """Records every read (list page, retrieve) and every change made through a ViewSet.

    A list records one event per row shown, in a single INSERT.
    """

    audit_reads = True

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        if self.audit_reads and page is not None and self.action == "list":
            if page and isinstance(page[0], dict):
                # A list built from .values(): the view says how rows map to cases.
                audit_record_rows(
                    actor=self.request.user,
                    action="list",
                    object_type=queryset.model._meta.label,
                    rows=[self.audit_row(row) for row in page],
                )
            else:
                audit_record_many(actor=self.request.user, action="list", objects=page)
        return page

    def audit_row(self, row: dict) -> tuple:
        """(object_id, case_id, case_reference) of a row from a .values() list."""
        return (row["id"], row.get("case_id"), row.get("case__reference", ""))

    def get_object(self):
        obj = super().get_object()
        if self.audit_reads and self.request.method in ("GET", "HEAD"):
            audit_record(actor=self.request.user, action="view", obj=obj, detail={"via": "api"})
        return obj

    def perform_create(self, serializer):
        super().perform_create(serializer)
        audit_record(actor=self.request.user, action="create", obj=serializer.instance, detail={"via": "api"})

    def perform_update(self, serializer):
        super().perform_update(serializer)
        audit_record(
            actor=self.request.user,
            action="update",
            obj=serializer.instance,
            detail={"via": "api", "fields": sorted(serializer.validated_data)},
        )

    def perform_destroy(self, instance):
        audit_record(actor=self.request.user, action="delete", obj=instance, detail={"via": "api"})
        super().perform_destroy(instance)


class AuditedAdminMixin:
    """Records every list page, change-form view, history view, save and delete in the admin.

    A list page shows medical data too (names, results, dates), so each row on it is recorded
    as read, in one INSERT whatever the page size.
    """

    def changelist_view(self, request, extra_context=None):
        response = super().changelist_view(request, extra_context)
        changelist = (getattr(response, "context_data", None) or {}).get("cl")
        if request.method == "GET" and changelist is not None and response.status_code == 200:
            audit_record_many(
                actor=request.user, action="list", objects=changelist.result_list, detail={"via": "admin"}
            )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", 200) == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_record(actor=request.user, action="view", obj=obj, detail={"via": "admin"})
        return response

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
