from django.apps import AppConfig


class EligibilityConfig(AppConfig):
    name = "eligibility"

    def ready(self):
        from . import signals

        signals.connect()
