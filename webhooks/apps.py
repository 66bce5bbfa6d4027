from django.apps import AppConfig

from navigator import events


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        # Imported here, not at the top: services import models, which Django loads only once
        # every app is registered.
        from .services import webhook_emit_event

        events.subscribe(webhook_emit_event)
