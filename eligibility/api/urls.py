from rest_framework.routers import DefaultRouter

from .views import FACT_VIEWSETS, AssessmentViewSet, ClinicalProfileViewSet, FamilySummaryViewSet

router = DefaultRouter()
router.register("clinical-profiles", ClinicalProfileViewSet, basename="clinical-profile")
for kind, viewset in FACT_VIEWSETS.items():
    slug = kind.replace("_", "-")
    router.register(f"clinical-facts/{slug}", viewset, basename=f"clinical-fact-{slug}")
router.register("eligibility-assessments", AssessmentViewSet, basename="eligibility-assessment")
router.register("family-summaries", FamilySummaryViewSet, basename="family-summary")

urlpatterns = router.urls
