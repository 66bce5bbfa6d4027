from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter()
router.register("travel/travellers", views.TravellerViewSet, basename="travel-traveller")
router.register("travel/visas", views.VisaApplicationViewSet, basename="travel-visa")
router.register("travel/journeys", views.JourneyViewSet, basename="travel-journey")
router.register("travel/legs", views.LegViewSet, basename="travel-leg")
router.register("travel/accommodations", views.AccommodationViewSet, basename="travel-accommodation")
router.register("travel/pickups", views.AirportPickupViewSet, basename="travel-pickup")
router.register("travel/interpreter-needs", views.InterpreterNeedViewSet, basename="travel-interpreter-need")
router.register("travel/admissions", views.AdmissionViewSet, basename="travel-admission")
router.register("travel/itineraries", views.ItineraryViewSet, basename="travel-itinerary")

urlpatterns = router.urls
