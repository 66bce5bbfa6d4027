from rest_framework.routers import DefaultRouter

from .views import ApiKeyViewSet, ReferralViewSet

router = DefaultRouter()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("api-keys", ApiKeyViewSet, basename="api-key")

urlpatterns = router.urls
