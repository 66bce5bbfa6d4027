from rest_framework.routers import DefaultRouter

from .views import ReferralViewSet, WebhookEndpointViewSet

router = DefaultRouter()
router.register("referrals", ReferralViewSet, basename="referral")
router.register("webhook-endpoints", WebhookEndpointViewSet, basename="webhook-endpoint")

urlpatterns = router.urls
