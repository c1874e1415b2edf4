from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from loyalty import webhooks


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include("loyalty.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("hooks/shopify/<slug:shop_slug>/", webhooks.shopify, name="hook-shopify"),
    path("hooks/woocommerce/<slug:shop_slug>/", webhooks.woocommerce, name="hook-woocommerce"),
    path("healthz/", healthz, name="healthz"),
    path("", include("members.urls")),
]


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON for API clients, the normal page for people."""
    if request.path.startswith(("/api/", "/hooks/")):
        return JsonResponse(
            {"code": "not_found", "message": "There is nothing at this address.", "field": None}, status=404
        )
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)  # type: ignore[arg-type]
