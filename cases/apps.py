from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Cases"

    def ready(self):
        from accounts.access import use_case_rule

        from .access import visible_case_ids

        use_case_rule(visible_case_ids)
