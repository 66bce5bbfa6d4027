"""Issuing, rotating and revoking a centre's API credentials (a coordinator's job)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.roles import is_coordinator
from audit.services import audit_record
from navigator.errors import ConflictError, DomainError

from ..models import ApiCredential, Hospital

DEFAULT_ROTATION_GRACE = dt.timedelta(hours=24)
MAX_ROTATION_GRACE = dt.timedelta(days=7)


def _require_coordinator(actor) -> None:
    if not is_coordinator(actor):
        raise DomainError("Only a coordinator can manage API credentials.", code="permission_denied")


def hospital_service_user(*, hospital: Hospital) -> User:
    """The centre's service account: what an API key acts as when it is not tied to a person."""
    user, created = User.objects.get_or_create(
        username=f"svc-{hospital.code}",
        defaults={"role": User.Role.HOSPITAL, "hospital": hospital, "first_name": hospital.name_en[:150]},
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    elif user.hospital_id != hospital.pk or user.role != User.Role.HOSPITAL:
        raise DomainError(f"The account {user.username} exists but is not {hospital.code}'s service account.")
    return user


@transaction.atomic
def credential_issue(
    *,
    hospital: Hospital,
    actor,
    label: str,
    user: User | None = None,
    expires_at: dt.datetime | None = None,
    rotated_from: ApiCredential | None = None,
) -> tuple[ApiCredential, str]:
    """A new credential and its token (a coordinator's job). The token is returned once and never stored."""
    _require_coordinator(actor)
    return _issue(
        hospital=hospital, actor=actor, label=label, user=user, expires_at=expires_at, rotated_from=rotated_from
    )


def _issue(
    *,
    hospital: Hospital,
    actor,
    label: str,
    user: User | None = None,
    expires_at: dt.datetime | None = None,
    rotated_from: ApiCredential | None = None,
) -> tuple[ApiCredential, str]:
    """A new credential and its token. The token is returned once and never stored."""
    if not label.strip():
        raise DomainError("Name the system that will use this key, e.g. 'PKUPH referral inbox'.", field="label")
    if not hospital.is_active:
        raise DomainError(f"{hospital} is inactive; reactivate it before issuing keys.", field="hospital")
    if user is None:
        user = hospital_service_user(hospital=hospital)
    elif not (user.role == User.Role.HOSPITAL and user.hospital_id == hospital.pk and user.is_active):
        raise DomainError(f"{user.username} is not an active member of {hospital}'s staff.", field="user")
    if expires_at is not None and expires_at <= timezone.now():
        raise DomainError("The expiry must be in the future.", field="expires_at")
    key_id, secret, secret_hash = ApiCredential.new_secret()
    credential = ApiCredential.objects.create(
        hospital=hospital,
        user=user,
        label=label.strip(),
        key_id=key_id,
        secret_hash=secret_hash,
        created_by=actor,
        expires_at=expires_at,
        rotated_from=rotated_from,
    )
    audit_record(
        actor=actor,
        action="create",
        obj=credential,
        detail={"hospital": hospital.code, "key_id": key_id, "rotated_from": getattr(rotated_from, "key_id", None)},
    )
    return credential, ApiCredential.token_for(key_id, secret)


@transaction.atomic
def credential_rotate(
    *, credential: ApiCredential, actor, grace: dt.timedelta = DEFAULT_ROTATION_GRACE
) -> tuple[ApiCredential, str]:
    """Replace a credential: the new one works at once, the old one until ``grace`` has passed,
    so the centre can switch its systems without an outage."""
    _require_coordinator(actor)
    return _rotate(credential=credential, actor=actor, grace=grace)


@transaction.atomic
def credential_rotate_own(
    *, credential: ApiCredential, actor, grace: dt.timedelta = DEFAULT_ROTATION_GRACE
) -> tuple[ApiCredential, str]:
    """A centre rotates the key it is calling with (self-service through the API): the same
    rotation as a coordinator's, for the centre's own key only. While the grace runs, requests
    with the old key are answered with ``Deprecation`` and ``Sunset`` headers."""
    if getattr(actor, "hospital_id", None) != credential.hospital_id:
        raise DomainError("A centre can rotate only its own API key.", code="permission_denied")
    if not dt.timedelta(0) <= grace <= MAX_ROTATION_GRACE:
        raise DomainError(f"The grace period is 0 to {MAX_ROTATION_GRACE.days * 24} hours.", field="grace_hours")
    return _rotate(credential=credential, actor=actor, grace=grace)


def _rotate(*, credential: ApiCredential, actor, grace: dt.timedelta) -> tuple[ApiCredential, str]:
    old = ApiCredential.objects.select_for_update().get(pk=credential.pk)
    if not old.is_usable():
        raise DomainError("This credential is already revoked or expired; issue a new one instead.")
    if ApiCredential.objects.filter(rotated_from=old).exists():
        raise ConflictError("This credential was already rotated; rotate its replacement instead.")
    new, token = _issue(hospital=old.hospital, actor=actor, label=old.label, user=old.user, rotated_from=old)
    ends = timezone.now() + grace
    if old.expires_at is None or old.expires_at > ends:
        old.expires_at = ends
        old.save(update_fields=["expires_at"])
    audit_record(actor=actor, action="update", obj=old, detail={"rotated_to": new.key_id, "expires_at": str(ends)})
    return new, token


def credential_revoke(*, credential: ApiCredential, actor, reason: str = "") -> ApiCredential:
    """Stop a credential at once (e.g. leaked). Revoking twice is harmless."""
    _require_coordinator(actor)
    now = timezone.now()
    ApiCredential.objects.filter(pk=credential.pk, revoked_at=None).update(
        revoked_at=now, revoked_by=actor, revoked_reason=reason.strip()[:300]
    )
    credential.refresh_from_db()
    audit_record(actor=actor, action="update", obj=credential, detail={"revoked": True, "reason": reason})
    return credential
