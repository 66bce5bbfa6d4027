from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

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
    # Swagger UI with its starter script served as a file (no inline script), under the site's CSP.
    path(
        "api/docs/",
        SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api_docs/swagger_ui.html"),
        name="api-docs",
    ),
    # ReDoc styles itself with <style> elements and searches in a blob: worker; scripts stay 'self'.
    path(
        "api/redoc/",
        csp_update({"style-src": ["'self'", "'unsafe-inline'"], "worker-src": ["'self'", "blob:"]})(
            SpectacularRedocView.as_view(url_name="schema", template_name="api_docs/redoc.html")
        ),
        name="api-redoc",
    ),
    path("api/schemas/<str:name>", schema_file, name="packet-schemas"),
    path("portal/", include("portal.urls")),
    path("home/", include("followup.urls")),
    path("healthz", healthz, name="healthz"),
]

handler400 = "navigator.error_views.bad_request"
handler403 = "navigator.error_views.permission_denied"
handler404 = "navigator.error_views.not_found"
handler500 = "navigator.error_views.server_error"
