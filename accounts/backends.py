"""Permissions follow roles, so a new coordinator can work the moment the account exists.

Coordinators may view, add, change and delete Navigator records, except that cases,
patients, documents and records of what happened are never deleted by them; managing
accounts and editing periodic tasks is for supervisors. Nobody gets
write access to the audit trail (its admin refuses regardless).
"""

from django.contrib.auth.backends import ModelBackend

from accounts.roles import is_coordinator, is_supervisor

WORK_APPS = {
    "cases",
    "documents",
    "eligibility",
    "scheduling",
    "notifications",
    "hospitals",
    "messaging",
    "webhooks",
    "travel",
    "portal",
    "audit",
    "options",
    "followup",
}
KEPT_RECORDS = {
    "delete_case",
    "delete_patient",
    "delete_document",
    "delete_statuschange",
    "delete_auditevent",
    "delete_packetversion",
    "delete_assessment",
    "delete_message",
    "delete_optionversion",
    "delete_shortlistentry",
}
SUPERVISOR_APPS = WORK_APPS | {
    "accounts",
    "authtoken",
    "django_celery_beat",
    "axes",
    "otp_totp",
    "otp_static",
    "django_otp_webauthn",
    "auth",
    # What waits for the broker (read, and sent again by hand).
    "outbox",
}


class RoleBackend(ModelBackend):
    def _allowed(self, user_obj, perm: str) -> bool:
        if not is_coordinator(user_obj):
            return False
        app_label, _, codename = perm.partition(".")
        if is_supervisor(user_obj):
            return app_label in SUPERVISOR_APPS
        if app_label in ("django_celery_beat", "accounts"):
            return codename.startswith("view_")
        if app_label not in WORK_APPS:
            return False
        return codename not in KEPT_RECORDS and codename != "reassign_case"

    def has_perm(self, user_obj, perm, obj=None):
        if self._allowed(user_obj, perm):
            return True
        if self._kept_from(user_obj, perm):
            return False
        # What the role does not give, a permission granted in the database may.
        return super().has_perm(user_obj, perm, obj)

    def _kept_from(self, user_obj, perm: str) -> bool:
        """A record a coordinator never deletes, whatever was granted to them in the database (and
        so answered without reading their database permissions: the case list asks on every page)."""
        app_label, _, codename = perm.partition(".")
        return (
            is_coordinator(user_obj)
            and not is_supervisor(user_obj)
            and app_label in WORK_APPS
            and codename in KEPT_RECORDS
        )

    def has_module_perms(self, user_obj, app_label):
        if is_coordinator(user_obj):
            apps = SUPERVISOR_APPS if is_supervisor(user_obj) else WORK_APPS | {"django_celery_beat", "accounts"}
            if app_label in apps:
                return True
        return super().has_module_perms(user_obj, app_label)
