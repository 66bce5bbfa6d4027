from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """Protecting the data itself: staff two-factor sign-in to the admin, per-case export
    for a family's request, and erasure of closed cases after their retention period."""

    name = "privacy"
    verbose_name = "Data protection"

    def ready(self) -> None:
        # The coordinators' admin requires a verified TOTP device (see ``two_factor``). The
        # default site instance keeps its registry; only its behaviour changes.
        from django.contrib import admin

        from .two_factor import NavigatorAdminSite

        admin.site.__class__ = NavigatorAdminSite

        # django-otp's own admin for recovery codes lists every code in clear; ours shows how many
        # are left. Registered here because django-otp's admin module is imported after ours.
        from django_otp.plugins.otp_static.models import StaticDevice

        from .admin import RecoveryCodesAdmin

        if admin.site.is_registered(StaticDevice):
            admin.site.unregister(StaticDevice)
        admin.site.register(StaticDevice, RecoveryCodesAdmin)
