from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from navigator.health import healthz
from navigator.schemas import schema_file

api_v1 = [
    path("", include("cases.api.urls")),
    path("", include("documents.api.urls")),
    path("", include("eligibility.api.urls")),
    path("", include("scheduling.api.urls")),
    path("", include("hospitals.api.urls")),
    path("", include("webhooks.api.urls")),
    path("", include("messaging.api.urls")),
    path("", include("travel.api.urls")),
    path("", include("privacy.api.urls")),
]

urlpatterns = [
    # Passkeys for the admin's second sign-in step (privacy.passkeys), before the admin's own routes.
    path("admin/passkeys/", include("privacy.passkeys")),
    # The coordinator's desk first: /admin/ itself is the Today page.
    path("admin/", include("desk.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/schemas/<str:name>", schema_file, name="packet-schemas"),
    path("portal/", include("portal.urls")),
    path("home/", include("followup.urls")),
    path("healthz", healthz, name="healthz"),
]

handler404 = "navigator.error_views.not_found"
handler500 = "navigator.error_views.server_error"
