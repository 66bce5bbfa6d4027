"""Request-level middleware: one structured log line a request, a 503 when the database
is unreachable, and the second sign-in step for staff sessions on the API.

``RequestLogMiddleware`` goes first in ``MIDDLEWARE`` so it times and sees everything.
"""

from __future__ import annotations

import errno
import logging
import re
import sys
import time
import uuid
import zoneinfo

from django.conf import settings
from django.core.signals import got_request_exception
from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from django.utils import timezone
from django.utils.functional import empty
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import RedisError

logger = logging.getLogger("navigator.request")

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
# Headers set by inner middleware (security, CSP) that a replacement response keeps.
_KEPT_HEADERS = (
    "Strict-Transport-Security",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cross-Origin-Opener-Policy",
    "X-Frame-Options",
    "Content-Security-Policy",
)
DATABASE_ERRORS = (OperationalError, InterfaceError)
# A backend the request needed (the database, the cache, the broker) did not answer.
BACKEND_ERRORS = (*DATABASE_ERRORS, RedisError, KombuOperationalError)
_NAMED_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")


def route_pattern(match) -> str | None:
    """The URL pattern that matched, with regex groups written as ``<name>``:
    ``/api/v1/cases/<pk>/`` for both path() and DRF's regex routes."""
    if match is None:
        return None
    route = _NAMED_GROUP.sub(r"<\1>", match.route or "").replace("^", "").replace("$", "")
    return "/" + route


def unavailable_response(exc: BaseException | None = None) -> JsonResponse:
    if exc is None or isinstance(exc, DATABASE_ERRORS):
        what = "database unreachable). Nothing was saved; retry shortly."
    else:
        what = "cache or task queue unreachable). Retry shortly."
    response = JsonResponse(
        {
            "code": "unavailable",
            "detail": f"The service is briefly unavailable ({what}",
            "fields": {},
        },
        status=503,
    )
    response["Retry-After"] = "5"
    return response


STORAGE_ERRNOS = {
    errno.ENOSPC: (507, "storage_full", "The file could not be stored: the storage is full."),
    errno.EDQUOT: (507, "storage_full", "The file could not be stored: the storage quota is used up."),
    errno.EROFS: (503, "storage_unavailable", "The file could not be stored: the storage is read-only."),
}


def storage_error_response(exc: OSError) -> JsonResponse | None:
    known = STORAGE_ERRNOS.get(exc.errno)
    if known is None:
        return None
    status, code, detail = known
    response = JsonResponse(
        {"code": code, "detail": detail + " Nothing was kept; try again later.", "fields": {}}, status=status
    )
    response["Retry-After"] = "60"
    return response


def _remember_database_error(sender, request=None, **kwargs):
    # Django turns an exception raised in any middleware layer into a 500 response before
    # the outer layers see it; this signal fires while the exception is being handled, so
    # mark the request and let RequestLogMiddleware answer 503 instead.
    exc = sys.exc_info()[1]
    if request is not None and isinstance(exc, BACKEND_ERRORS):
        request._navigator_database_error = exc


got_request_exception.connect(_remember_database_error, dispatch_uid="navigator.middleware.database_error")


def _user_id(request) -> int | None:
    """The user's id if authentication already ran; never triggers a query of its own."""
    user = request.__dict__.get("user")
    if user is None:
        return None
    wrapped = getattr(user, "_wrapped", user)
    if wrapped is empty:
        return None
    return getattr(wrapped, "pk", None)


class RequestLogMiddleware:
    """One JSON line a request: method, URL route *pattern*, status, duration, user id, request id.

    The route is the pattern (``api/v1/cases/<pk>/``), never the path or the query string,
    which may carry ids, names or search terms: the logs hold no medical data. The request
    id is taken from ``X-Request-ID`` when well-formed (so a proxy's id carries through),
    otherwise generated, and echoed on the response.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        start = time.perf_counter()
        response = self.get_response(request)
        if response.status_code == 500 and getattr(request, "_navigator_database_error", None):
            replacement = unavailable_response(request._navigator_database_error)
            for header in _KEPT_HEADERS:
                if header in response:
                    replacement[header] = response[header]
            response = replacement
        response[REQUEST_ID_HEADER] = request_id
        logger.info(
            "request",
            extra={
                "method": request.method,
                "route": route_pattern(getattr(request, "resolver_match", None)),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - start) * 1000, 2),
                "user_id": _user_id(request),
                "request_id": request_id,
            },
        )
        return response

    def process_exception(self, request, exception):
        # A view that hit a dead connection: answer 503 at once (not logged as a server error).
        if isinstance(exception, BACKEND_ERRORS):
            request._navigator_database_error = exception
            logger.warning("backend unavailable", extra={"error": exception.__class__.__name__})
            return unavailable_response(exception)
        # The document storage is full or read-only: say so, instead of a bare 500.
        if isinstance(exception, OSError):
            response = storage_error_response(exception)
            if response is not None:
                logger.error("storage refused a write", extra={"errno": exception.errno})
            return response
        return None


class StaffTwoFactorMiddleware:
    """Staff sessions that have not passed the second sign-in step cannot use the API.

    The admin itself refuses such sessions (``privacy.two_factor.NavigatorAdminSite``); this
    closes the side door of calling ``/api/`` with the same session cookie. Token-authenticated
    API clients (hospitals) are not affected. Must follow ``django_otp``'s ``OTPMiddleware``.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if getattr(settings, "ADMIN_REQUIRE_2FA", True) and request.path.startswith("/api/v1/"):
            from privacy.two_factor import needs_second_step

            if needs_second_step(request.user):
                return JsonResponse(
                    {
                        "code": "two_factor_required",
                        "detail": "Complete two-factor sign-in in the admin before using the API.",
                        "fields": {},
                    },
                    status=403,
                )
        return self.get_response(request)


class StaffTimeZoneMiddleware:
    """Admin pages show every time in the signed-in member of staff's own zone
    (``User.time_zone``, set on the desk's time-zone page); English formats name the zone."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/admin/"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        try:
            staff = getattr(user, "is_authenticated", False) and user.is_staff
        except BACKEND_ERRORS:
            # Loading the session's user needs the database: when it is down, the view meets the
            # same error and RequestLogMiddleware.process_exception answers 503.
            staff = False
        if not staff:
            return self.get_response(request)
        try:
            zone = zoneinfo.ZoneInfo(user.time_zone or "UTC")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            # The model validates the zone; a row written around it falls back to UTC, visibly named.
            logger.warning("user %s has an unknown time zone %r; showing UTC", user.pk, user.time_zone)
            zone = zoneinfo.ZoneInfo("UTC")
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
