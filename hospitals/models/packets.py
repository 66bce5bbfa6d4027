"""Case packets: what a centre was sent, frozen. A new send makes a new version."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.access import Via, VisibleQuerySet

from .referrals import Referral


class PacketImmutable(Exception):
    """A sent packet is a record of what the centre saw: it is never changed."""


class PacketVersionQuerySet(VisibleQuerySet):
    def update(self, **kwargs):
        raise PacketImmutable("Packet versions cannot be changed; send a new version instead.")


class PacketVersion(models.Model):
    """One immutable snapshot of a case for one centre.

    ``snapshot`` is the whole packet as JSON (patient minimum data, clinical profile, history,
    eligibility, documents with their checksums); ``content_hash`` is the SHA-256 of its
    RFC 8785 canonical form without the assembly metadata (``packet``), so an unchanged case
    gives the same hash and a centre recomputes it (docs/packet-format.md). The model refuses to save an existing row, and on PostgreSQL a trigger refuses
    UPDATE too. ``changes`` lists what differs from ``compared_to`` (the last version the centre
    had seen when this one was assembled).
    """

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="packets")
    version = models.PositiveIntegerField()
    snapshot = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    compared_to = models.PositiveIntegerField(
        null=True, blank=True, help_text=_("Version the changes are measured against.")
    )
    changes = models.JSONField(default=list, blank=True)

    objects = PacketVersionQuerySet.as_manager()
    visibility = Via("referral")

    class Meta:
        ordering = ["referral", "-version"]
        get_latest_by = "version"
        constraints = [
            models.UniqueConstraint(fields=["referral", "version"], name="one_packet_number_per_referral"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="packet_version_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.referral} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk is not None or not self._state.adding:
            raise PacketImmutable("Packet versions cannot be changed; send a new version instead.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    @property
    def document_ids(self) -> list[int]:
        """Every document in the packet: the originals and their translations."""
        ids = []
        for doc in self.snapshot.get("documents", []):
            ids.append(doc["id"])
            ids.extend(t["id"] for t in doc.get("translations", []))
        return ids

    @property
    def reference(self) -> str:
        return self.snapshot.get("case", {}).get("reference", "")


class PacketView(models.Model):
    """The first time a centre fetched a packet version: "changes since the last one the centre saw"."""

    packet = models.OneToOneField(PacketVersion, on_delete=models.CASCADE, related_name="first_view")
    viewed_at = models.DateTimeField(default=timezone.now)
    viewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    visibility = Via("packet")

    def __str__(self) -> str:
        return f"{self.packet} seen {self.viewed_at:%Y-%m-%d}"
