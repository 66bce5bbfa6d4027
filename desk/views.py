"""The desk's admin pages: Today (the landing page at /admin/), the supervisors' view, and the
small forms they post to (saved filters, reassignment, time zone). Each is wrapped by
``admin.site.admin_view``: signed-in, active staff only, like every admin page."""

from __future__ import annotations

import zoneinfo

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.roles import is_coordinator, is_supervisor
from audit.services import audit_record_many
from cases.models import Case
from navigator.errors import DomainError

from . import charts, selectors, services, stats


def _redirect_back(request, fallback: str = "desk:today") -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not target.startswith("/admin/") or target.startswith("//"):
        target = reverse(fallback)
    return HttpResponseRedirect(target)


def today(request):
    """The coordinator's landing page. Staff who coordinate nothing get the app index."""
    if not is_coordinator(request.user):
        return admin.site.index(request)
    scope = selectors.scope_for(request.user, request.GET.get("scope"))
    groups = selectors.today_for(user=request.user, scope=scope)
    context = {
        **admin.site.each_context(request),
        "title": "Today",
        "subtitle": None,
        "groups": groups,
        "scope": scope,
        "is_supervisor": is_supervisor(request.user),
        "saved_filters": list(selectors.saved_filters_of(request.user)),
        "case_list_url": reverse("admin:cases_case_changelist"),
        "coordinators": list(selectors.coordinators()) if scope == selectors.TEAM else [],
        "now": timezone.now(),
        "app_list": admin.site.get_app_list(request),
    }
    response = TemplateResponse(request, "desk/today.html", context)
    by_type: dict[type, list] = {}
    for group in groups:
        for obj in group.shown:
            by_type.setdefault(type(obj), []).append(obj)
    for objects in by_type.values():
        audit_record_many(actor=request.user, action="list", objects=objects, detail={"via": "admin", "page": "today"})
    return response


def supervisors(request):
    """Where the service stands: the funnel, the times to referral, acceptance and infusion,
    the centres' answers against their deadlines, and what is overdue per coordinator."""
    if not is_supervisor(request.user):
        raise PermissionDenied("The supervisors' view is for supervising coordinators.")
    figures = stats.service_figures(user=request.user)
    context = {
        **admin.site.each_context(request),
        "title": "Supervisors' view",
        "subtitle": None,
        "figures": figures,
        "funnel_chart": charts.bars(
            [(row.label, row.count) for row in figures.funnel], unit="cases", title="Cases by status"
        ),
        "durations_chart": charts.paired_bars(
            [(row.label, row.median, row.p90) for row in figures.durations],
            first="median",
            second="90th percentile",
            unit="days",
            title="Days from inquiry",
        ),
        "centres_chart": charts.stacked_bars(
            [(row.name, [row.on_time, row.late, row.overdue]) for row in figures.centres],
            parts=["answered in time", "answered late", "unanswered, past deadline"],
            title="Centres' answers against their deadlines",
        ),
        "overdue_chart": charts.bars(
            [(row.coordinator, row.overdue) for row in figures.overdue_by_coordinator],
            unit="overdue items",
            title="Overdue items per coordinator",
        ),
    }
    return TemplateResponse(request, "desk/supervisors.html", context)


@require_POST
def saved_filter_save(request):
    try:
        saved = services.saved_filter_save(
            user=request.user, name=request.POST.get("name", ""), query=request.POST.get("query", "")
        )
    except DomainError as exc:
        messages.error(request, f"The filter was not saved: {exc.message}")
        return _redirect_back(request)
    messages.success(request, f"Saved the case-list filter “{saved.name}”; it is on your Today page.")
    return _redirect_back(request)


@require_POST
def saved_filter_delete(request, pk: int):
    if services.saved_filter_delete(user=request.user, saved_filter_id=pk):
        messages.success(request, "The saved filter was deleted.")
    else:
        messages.error(request, "That saved filter does not exist (any more).")
    return _redirect_back(request)


@require_POST
def reassign(request):
    if not is_supervisor(request.user):
        raise PermissionDenied("Only a supervising coordinator reassigns cases.")
    try:
        coordinator_id = int(request.POST.get("coordinator", ""))
    except ValueError:
        messages.error(request, "Choose the coordinator to give the case to.")
        return _redirect_back(request)
    try:
        case: Case = services.case_reassign(
            reference=request.POST.get("reference", ""),
            coordinator_id=coordinator_id,
            actor=request.user,
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(request, f"The case was not reassigned: {exc.message}")
        return _redirect_back(request)
    messages.success(request, f"{case.reference} is now {case.coordinator.get_username()}'s case.")
    return _redirect_back(request)


def time_zone(request):
    """The signed-in member of staff's own time zone, in which the admin shows every time."""
    if request.method == "POST":
        try:
            services.staff_time_zone_set(user=request.user, time_zone=request.POST.get("time_zone", ""))
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"Times are now shown in {request.user.time_zone}.")
            return _redirect_back(request)
    context = {
        **admin.site.each_context(request),
        "title": "Your time zone",
        "subtitle": None,
        "zones": sorted(zoneinfo.available_timezones()),
        "current": request.user.time_zone,
    }
    return TemplateResponse(request, "desk/time_zone.html", context)
