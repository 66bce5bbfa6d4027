from django.apps import AppConfig


class FollowupConfig(AppConfig):
    name = "followup"
    verbose_name = "The way home: handback and follow-up"

    def ready(self):
        # The home haematologist hears of each follow-up visit through scheduling's reminders.
        from scheduling import parties

        from .reminders import home_haematologist

        parties.register(home_haematologist)
