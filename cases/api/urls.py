from rest_framework.routers import DefaultRouter

from .views import CaseViewSet, ContactViewSet, PatientViewSet

router = DefaultRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("patients", PatientViewSet, basename="patient")
router.register("contacts", ContactViewSet, basename="contact")

urlpatterns = router.urls
