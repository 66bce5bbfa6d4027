"""The one way to ask what a user is: ``role_of(user)`` and the predicates built on it.

Every access decision (which rows a user sees, who may act) asks here, so anonymous users,
inactive accounts and hospital staff without a centre are handled once: they have no role
and are refused everything.
"""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a user may see and do. Supervisors and superusers work as coordinators."""

    COORDINATOR = "coordinator"
    FAMILY = "family"
    HOSPITAL = "hospital"


def role_of(user) -> Role | None:
    """The role that decides access, or ``None`` (anonymous, inactive, unknown role, or
    hospital staff not attached to a centre): ``None`` sees nothing and may do nothing."""
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    if user.is_superuser:
        return Role.COORDINATOR
    stored = getattr(user, "role", None)
    if stored in ("coordinator", "supervisor"):
        return Role.COORDINATOR
    if stored == "family":
        return Role.FAMILY
    if stored == "hospital" and getattr(user, "hospital_id", None) is not None:
        return Role.HOSPITAL
    return None


def is_coordinator(user) -> bool:
    """Coordinators, supervisors and superusers, signed in and active."""
    return role_of(user) is Role.COORDINATOR


def is_supervisor(user) -> bool:
    """A supervising coordinator (or a superuser), signed in and active."""
    return is_coordinator(user) and (user.is_superuser or user.role == "supervisor")


def is_family(user) -> bool:
    return role_of(user) is Role.FAMILY


def is_hospital(user) -> bool:
    """Staff of a centre (``user.hospital_id`` is then set)."""
    return role_of(user) is Role.HOSPITAL
