from django.apps import AppConfig


class DeskConfig(AppConfig):
    """The coordinator's desk in the admin: Today (the landing page), the supervisors' view,
    saved case-list filters, and the staff's own preferences (time zone)."""

    name = "desk"
    verbose_name = "Desk"
