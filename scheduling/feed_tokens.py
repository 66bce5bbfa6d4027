"""Private subscription links for a case's calendar feed.

Calendar apps (Google, Apple, Outlook) fetch a feed by URL with no session, so the link
carries a signed token naming a ``CalendarLink`` row, its user and its case. The token proves
nothing by itself: the row must be neither expired (``CALENDAR_LINK_DAYS`` after issue) nor
revoked (one by one, from the portal's Dates page or the admin), and each fetch still applies
the access rule for that user, so a family that loses access, or a deactivated account, gets
404. Changing the password revokes every link of that user.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from audit.services import audit_record

from .models import CalendarLink

SALT = "navigator.calendar-feed"


def _password_fingerprint(user) -> str:
    return hashlib.sha256(user.password.encode()).hexdigest()[:16]


def calendar_link_issue(*, user, case, fresh: bool = False) -> CalendarLink:
    """The user's usable link to the case's feed, or a new one (always new with ``fresh``)."""
    now = timezone.now()
    if not fresh:
        existing = CalendarLink.objects.usable(now).filter(user=user, case=case).first()
        if existing is not None:
            return existing
    link = CalendarLink.objects.create(
        user=user, case=case, created_at=now, expires_at=now + dt.timedelta(days=settings.CALENDAR_LINK_DAYS)
    )
    audit_record(actor=user, action="create", obj=link, case=case, detail={"expires_at": link.expires_at.isoformat()})
    return link


@transaction.atomic
def calendar_link_revoke(*, link: CalendarLink, actor) -> bool:
    """Stop one link working from now on; False if it was already revoked."""
    done = CalendarLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=timezone.now()) == 1
    if done:
        audit_record(actor=actor, action="update", obj=link, case=link.case, detail={"revoked": True})
    return done


def calendar_feed_token(*, link: CalendarLink) -> str:
    return signing.dumps(
        {"l": link.pk, "u": link.user_id, "c": link.case_id, "p": _password_fingerprint(link.user)}, salt=SALT
    )


def calendar_link_url(*, request, link: CalendarLink) -> str:
    path = reverse("case-milestones-ics", args=[link.case_id])
    return request.build_absolute_uri(f"{path}?token={calendar_feed_token(link=link)}")


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
        link = CalendarLink.objects.filter(pk=data.get("l"), user=user, case_id=case_id).first()
        if link is None or link.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This calendar link was revoked; copy the new one from Navigator.")
        if link.expires_at <= timezone.now():
            raise exceptions.AuthenticationFailed(
                f"This calendar link expired on {link.expires_at:%Y-%m-%d}; copy a new one from Navigator."
            )
        CalendarLink.objects.filter(pk=link.pk).update(last_used_at=timezone.now())
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
