"""A coordinator's own settings for their desk: the case-list filters they saved by name."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.access import OwnRows


class SavedFilter(models.Model):
    """A case-list query (the changelist's query string) a coordinator saved under a name; it
    is listed on their Today page and opens the case list filtered as it was."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_filters")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True, help_text="The case list's query string, without '?'.")
    created_at = models.DateTimeField(auto_now_add=True)

    visibility = OwnRows("user")

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_saved_filter_name_per_user")]

    def __str__(self) -> str:
        return self.name
