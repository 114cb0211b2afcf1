"""Top-level URLs: the pages, the API under /api/v1/, its schema and docs, health checks."""

from __future__ import annotations

from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from diversion import health, views

# The split view serves its script as a file, so no inline script is needed; Swagger UI sets
# inline styles, allowed on this page only (it shows no personal data).
api_docs = csp_update({"style-src": ["'unsafe-inline'"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("cases/", include("cases.urls")),
    path("cases/", include("programmes.case_urls")),
    path("provider/", include("programmes.urls")),
    path("audit/", include("audit.urls")),
    path("escalations/", include("escalations.urls")),
    path("reports/", include("reports.urls")),
    path("data-protection/", include("retention.urls")),
    path("api/v1/", include("diversion.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", api_docs, name="api-docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
]

handler400 = "diversion.views.bad_request"
handler404 = "diversion.views.not_found"
handler500 = "diversion.views.server_error"
