"""The coordinator's view of webhooks: each centre's endpoints, the events it was sent, and the
delivery log with every attempt and a replay."""

from __future__ import annotations

from django.contrib import admin, messages

from navigator.admin import VisibleAdmin
from navigator.errors import DomainError

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .services import webhook_replay


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = ("hospital", "url", "is_active", "event_types", "created_at")
    list_filter = ("hospital", "is_active")
    readonly_fields = ("secret_hint",)

    @admin.display(description="signing secret")
    def secret_hint(self, obj):
        return f"{obj.secret[:10]}…" if obj and obj.secret else "—"


class AttemptInline(VisibleAdmin, admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "at", "status_code", "duration_ms", "error", "response_excerpt")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(VisibleAdmin, admin.ModelAdmin):
    """The delivery log: what each centre was sent, every attempt, and a replay."""

    list_display = (
        "event",
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
    )
    list_select_related = ("event", "endpoint__hospital")
    list_filter = ("status", "event__type", "endpoint__hospital")
    search_fields = ("event__id",)
    readonly_fields = ("event", "endpoint", "status", "attempts", "next_attempt_at", "last_attempt_at",
                       "last_status_code", "last_error", "delivered_at", "created_at", "payload")  # fmt: skip
    inlines = [AttemptInline]
    actions = ["replay"]

    @admin.display(description="type")
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description="payload")
    def payload(self, obj):
        return obj.event.payload

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Replay: send again from the start of the retry schedule")
    def replay(self, request, queryset):
        for delivery in queryset.select_related("endpoint"):
            try:
                webhook_replay(delivery=delivery, actor=request.user)
            except DomainError as exc:
                messages.error(request, f"{delivery}: {exc.message}")
        messages.success(request, "Queued for delivery.")


@admin.register(WebhookEvent)
class WebhookEventAdmin(VisibleAdmin, admin.ModelAdmin):
    list_display = ("id", "type", "hospital", "created_at")
    list_filter = ("type", "hospital")
    readonly_fields = ("id", "type", "hospital", "payload", "created_at", "dedupe_key")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
