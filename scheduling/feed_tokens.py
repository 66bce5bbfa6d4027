"""Private subscription links for a case's calendar feed.

Calendar apps (Google, Apple, Outlook) fetch a feed by URL with no session, so the link
carries a signed token naming the user and the case. The token proves nothing by itself:
each fetch still applies the access rule for that user, so a family that loses access,
or a deactivated account, gets 404. Changing the password revokes every link of that user.
"""

from __future__ import annotations

import hashlib

from django.contrib.auth import get_user_model
from django.core import signing
from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

SALT = "navigator.calendar-feed"


def _password_fingerprint(user) -> str:
    return hashlib.sha256(user.password.encode()).hexdigest()[:16]


def calendar_feed_token(*, user, case_id: int) -> str:
    return signing.dumps({"u": user.pk, "c": case_id, "p": _password_fingerprint(user)}, salt=SALT)


def calendar_feed_url(*, request, user, case_id: int) -> str:
    path = reverse("case-milestones-ics", args=[case_id])
    return request.build_absolute_uri(f"{path}?token={calendar_feed_token(user=user, case_id=case_id)}")


class CalendarFeedTokenAuthentication(authentication.BaseAuthentication):
    """Authenticates a feed fetch by its ``?token=``, for the case named in the URL only."""

    def authenticate(self, request):
        token = request.query_params.get("token")
        if not token:
            return None
        try:
            data = signing.loads(token, salt=SALT)
        except signing.BadSignature:
            raise exceptions.AuthenticationFailed("This calendar link is not valid; copy it again from Navigator.")
        case_id = request.parser_context["kwargs"].get("case_id") if request.parser_context else None
        if data.get("c") != case_id:
            raise exceptions.AuthenticationFailed("This calendar link belongs to another case.")
        user = get_user_model().objects.filter(pk=data.get("u"), is_active=True).first()
        if user is None or data.get("p") != _password_fingerprint(user):
            raise exceptions.AuthenticationFailed("This calendar link was revoked; copy the new one from Navigator.")
        return user, None

    def authenticate_header(self, request):
        # Makes a refused link a 401 (ask again for a link), not a 403.
        return 'Token realm="calendar feed"'


class CalendarFeedTokenScheme(OpenApiAuthenticationExtension):
    target_class = "scheduling.feed_tokens.CalendarFeedTokenAuthentication"
    name = "calendarFeedToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "query",
            "name": "token",
            "description": "Private link token from /api/v1/cases/{case_id}/calendar-link/.",
        }
