"""The shop API's routes, included under ``/api/v1/`` by ``config.urls`` (namespace ``api``)."""

from __future__ import annotations

from django.urls import path

from loyalty.api import events, members, orders, points, redemptions, rewards

app_name = "api"

urlpatterns = [
    path("orders/", orders.OrdersView.as_view(), name="orders"),
    path("orders/<str:order_id>/", orders.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:order_id>/refunds/", orders.RefundsView.as_view(), name="order-refunds"),
    path("return-reasons/", orders.ReturnReasonsView.as_view(), name="return-reasons"),
    path("members/", members.MembersView.as_view(), name="members"),
    path("members/<uuid:member_id>/", members.MemberDetailView.as_view(), name="member-detail"),
    path("members/<uuid:member_id>/consents/", members.MemberConsentsView.as_view(), name="member-consents"),
    path("events/", events.EventsView.as_view(), name="events"),
    path("points/preview/", points.PointsPreviewView.as_view(), name="points-preview"),
    # Points spent at the shop's checkout
    path("redemptions/", redemptions.RedemptionsView.as_view(), name="redemptions"),
    path(
        "redemptions/<str:redemption_id>/capture/",
        redemptions.RedemptionCaptureView.as_view(),
        name="redemption-capture",
    ),
    path(
        "redemptions/<str:redemption_id>/release/",
        redemptions.RedemptionReleaseView.as_view(),
        name="redemption-release",
    ),
    # Rewards and vouchers
    path("vouchers/<str:code>/", rewards.VoucherDetailView.as_view(), name="voucher-detail"),
    path("vouchers/<str:code>/redeem/", rewards.VoucherRedeemView.as_view(), name="voucher-redeem"),
]
