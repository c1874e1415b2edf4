from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from loyalty.embed import demo as embed_demo
from loyalty.platforms import shopify_webhook, woocommerce_webhook
from loyalty.portal.urls import portal_patterns as points_pages
from loyalty.staff import views as staff_views
from members import messaging_views
from members import views as member_views
from members.urls import claim_patterns as member_claim
from members.urls import portal_patterns as member_pages
from members.urls import public_patterns as member_public
from referrals.urls import portal_patterns as referral_pages
from referrals.urls import public_patterns as referral_public


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


# The member portal is one namespace, ``portal:``, made of the points pages (``loyalty``), the person's
# own pages (``members``) and the invite page (``referrals``): no app imports another's views.
portal_patterns = [*points_pages, *member_pages, *member_claim, *referral_pages]

urlpatterns = [
    path("admin/dashboard/", admin.site.admin_view(staff_views.dashboard), name="staff-dashboard"),
    path("admin/", admin.site.urls),
    *referral_public,  # /r/{code}, and sign-up with a referral code, ahead of allauth's own sign-up
    path("accounts/", include("allauth.urls")),
    *member_public,  # /unsubscribe/{token}/
    path("i18n/setlang/", member_views.language, name="set_language"),
    path("api/v1/", include("loyalty.api.urls")),
    path("embed/v1/", include("loyalty.embed.urls")),
    path("demo/storefront/", embed_demo.storefront, name="demo-storefront"),  # DEBUG or KLUBB_DEMO_STOREFRONT
    path("api/v1/", include("referrals.urls_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("hooks/shopify/<slug:shop_slug>/", shopify_webhook, name="hook-shopify"),
    path("hooks/woocommerce/<slug:shop_slug>/", woocommerce_webhook, name="hook-woocommerce"),
    path("hooks/sms/46elks/<str:token>/", messaging_views.sms_callback, name="hook-sms"),
    path("healthz/", healthz, name="healthz"),
    path("", include((portal_patterns, "portal"))),
]
