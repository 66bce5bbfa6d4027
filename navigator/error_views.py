"""Django's last-resort error pages (400, 403, 404, 500), in the API's one error shape under ``/api/``.

A route that does not exist (``/api/v1/referrals/abc/``) or an error no view handled answers
``{"code", "detail", "fields"}`` as JSON to API clients; the admin and the portal keep
Django's HTML pages.
"""

from __future__ import annotations

from django.http import JsonResponse
from django.views import defaults


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            {"code": "bad_request", "detail": "The request could not be read (too large, or malformed).", "fields": {}},
            status=400,
        )
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse({"code": "permission_denied", "detail": "You may not do this.", "fields": {}}, status=403)
    return defaults.permission_denied(request, exception)


def not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"code": "not_found", "detail": "Not found.", "fields": {}}, status=404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    if _is_api(request):
        return JsonResponse(
            {"code": "error", "detail": "The server could not answer; the error was logged.", "fields": {}},
            status=500,
        )
    return defaults.server_error(request)
