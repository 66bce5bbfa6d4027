from django.contrib import admin

from navigator.admin import ReadOnlyAdmin, VisibleAdmin

from .models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin, VisibleAdmin, admin.ModelAdmin):
    """The trail is read-only here: nobody may add, change or delete entries."""

    list_display = (
        "at",
        "actor_label",
        "actor_role",
        "action",
        "object_type",
        "object_id",
        "case_reference",
        "client_ip",
    )
    list_filter = ("action", "actor_role", "object_type")
    search_fields = ("=case_reference", "=actor_label", "=object_id")
    show_full_result_count = False
    date_hierarchy = None
    list_per_page = 100

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        case_id = request.GET.get("case_id")
        return qs.filter(case_id=case_id) if case_id and case_id.isdigit() else qs

    def lookup_allowed(self, lookup, value, request=None):
        return lookup == "case_id" or super().lookup_allowed(lookup, value, request)
