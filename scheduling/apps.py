from django.apps import AppConfig


class SchedulingConfig(AppConfig):
    name = "scheduling"
    verbose_name = "Scheduling and reminders"

    def ready(self) -> None:
        from cases.services import STATUS_CHANGE_HANDLERS

        from .services import case_closed_cancel_milestones

        if case_closed_cancel_milestones not in STATUS_CHANGE_HANDLERS:
            STATUS_CHANGE_HANDLERS.append(case_closed_cancel_milestones)
