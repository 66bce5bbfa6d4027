"""The outbox in the admin: what waits for the broker, since when, and the last error.

Rows are written by services and sent by the relay; here they are read, and unsent ones can be
sent again at once (the same path the relay takes, so a row is never published twice)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import admin, messages
from django.utils import timezone

from .models import OutboxTask
from .services import outbox_send


class WaitingFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("unsent", "Waiting for the broker"), ("stalled", "Stalled"), ("sent", "Sent")]

    def queryset(self, request, queryset):
        if self.value() == "unsent":
            return queryset.filter(sent_at__isnull=True)
        if self.value() == "stalled":
            since = timezone.now() - dt.timedelta(seconds=settings.OUTBOX_STALLED_SECONDS)
            return queryset.filter(sent_at__isnull=True, created_at__lt=since)
        if self.value() == "sent":
            return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboxTask)
class OutboxTaskAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "created_at", "eta", "sent_at", "attempts", "short_error")
    list_filter = (WaitingFilter, "name")
    search_fields = ("name",)
    ordering = ("-id",)
    readonly_fields = ("name", "args", "eta", "created_at", "sent_at", "attempts", "last_error")
    actions = ["send_now"]
    show_full_result_count = False

    @admin.display(description="Last error")
    def short_error(self, obj) -> str:
        return obj.last_error[:120]

    @admin.action(description="Send to the broker now")
    def send_now(self, request, queryset):
        ids = list(queryset.filter(sent_at__isnull=True).values_list("pk", flat=True))
        sent = outbox_send(ids)
        level = messages.SUCCESS if sent == len(ids) else messages.WARNING
        self.message_user(request, f"{sent} of {len(ids)} waiting task(s) sent; the relay retries the rest.", level)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
