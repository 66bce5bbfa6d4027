"""API-key authentication for centres: ``Authorization: Bearer nvk_<key_id>_<secret>``."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.http import http_date
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from .models import ApiCredential

# last_used_at is informative; writing it on every request would turn each read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class HospitalApiKeyAuthentication(authentication.BaseAuthentication):
    """Resolves a centre's API key to the hospital user it acts as.

    Unknown, revoked and expired keys, and keys whose user or hospital was deactivated,
    are refused with 401. ``request.auth`` is the ``ApiCredential``.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        parts = header.split()
        if not parts or parts[0] != self.keyword:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Send the key as 'Authorization: Bearer nvk_<id>_<secret>'.")
        token = parts[1]
        if not token.startswith("nvk_"):
            return None  # another bearer scheme may handle it
        parsed = ApiCredential.parse_token(token)
        if parsed is None:
            raise exceptions.AuthenticationFailed("This API key is malformed.")
        key_id, secret = parsed
        credential = (
            ApiCredential.objects.select_related("user", "hospital", "rotated_to").filter(key_id=key_id).first()
        )
        if credential is None or not credential.secret_matches(secret):
            raise exceptions.AuthenticationFailed("This API key is not valid.")
        now = timezone.now()
        if credential.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if credential.expires_at is not None and credential.expires_at <= now:
            raise exceptions.AuthenticationFailed("This API key has expired.")
        user = credential.user
        if not user.is_active or not credential.hospital.is_active or user.hospital_id != credential.hospital_id:
            raise exceptions.AuthenticationFailed("This API key's account is disabled.")
        if credential.last_used_at is None or credential.last_used_at < now - LAST_USED_RESOLUTION:
            ApiCredential.objects.filter(pk=credential.pk).update(last_used_at=now)
        replacement = getattr(credential, "rotated_to", None)
        if replacement is not None and credential.expires_at is not None:
            # A key in its grace period after a rotation: the answer says so (Deprecation,
            # RFC 9745, since the rotation; Sunset, RFC 8594, when the key stops working).
            request._request.api_key_deprecation = (replacement.created_at, credential.expires_at)
        return user, credential

    def authenticate_header(self, request):
        return f'{self.keyword} realm="navigator"'


class ApiKeyDeprecationMiddleware:
    """Adds ``Deprecation`` and ``Sunset`` to every answer to a request made with a rotated key
    that still works (its grace period), so a centre's client can warn before the key stops."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        marked = getattr(request, "api_key_deprecation", None)
        if marked is not None:
            deprecated_at, sunset_at = marked
            response["Deprecation"] = f"@{int(deprecated_at.timestamp())}"
            response["Sunset"] = http_date(sunset_at.timestamp())
            response["Link"] = '</api/v1/api-keys/>; rel="deprecation"; type="application/json"'
        return response


class HospitalApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "hospitals.authentication.HospitalApiKeyAuthentication"
    name = "hospitalApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "nvk_<key_id>_<secret>",
            "description": "A centre's API key, issued by a coordinator and shown once.",
        }
