from django.urls import path
from rest_framework.routers import DefaultRouter

from .views import (
    CaseCalendarLinkView,
    CaseCalendarView,
    CoordinatorTaskViewSet,
    MilestoneViewSet,
    MRDResultViewSet,
    TransplantDecisionViewSet,
    TreatmentEventViewSet,
)

router = DefaultRouter()
router.register("milestones", MilestoneViewSet, basename="milestone")
router.register("treatment-events", TreatmentEventViewSet, basename="treatment-event")
router.register("mrd-results", MRDResultViewSet, basename="mrd-result")
router.register("coordinator-tasks", CoordinatorTaskViewSet, basename="coordinator-task")
router.register("transplant-decisions", TransplantDecisionViewSet, basename="transplant-decision")

urlpatterns = router.urls + [
    path("cases/<int:case_id>/milestones.ics", CaseCalendarView.as_view(), name="case-milestones-ics"),
    path("cases/<int:case_id>/calendar-link/", CaseCalendarLinkView.as_view(), name="case-calendar-link"),
]
