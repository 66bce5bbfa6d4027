"""Audit applied once, by mixins, for the API and the admin alike."""

from __future__ import annotations

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
    """Records every change-form view and every save or delete made in the admin."""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and getattr(response, "status_code", 200) == 200:
            obj = self.get_object(request, object_id)
            if obj is not None:
                audit_record(actor=request.user, action="view", obj=obj, detail={"via": "admin"})
        return response

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
