from __future__ import annotations

from django.urls import path

from loyalty import api

app_name = "api"

urlpatterns = [
    path("orders/", api.OrdersView.as_view(), name="orders"),
    path("orders/<str:order_id>/", api.OrderDetailView.as_view(), name="order-detail"),
    path("orders/<str:order_id>/refunds/", api.RefundsView.as_view(), name="order-refunds"),
    path("members/", api.MembersView.as_view(), name="members"),
    path("members/<uuid:member_id>/", api.MemberDetailView.as_view(), name="member-detail"),
    path("members/<uuid:member_id>/consents/", api.MemberConsentsView.as_view(), name="member-consents"),
    path("events/", api.EventsView.as_view(), name="events"),
    # Rewards and vouchers
    path("vouchers/<str:code>/", api.VoucherDetailView.as_view(), name="voucher-detail"),
    path("vouchers/<str:code>/redeem/", api.VoucherRedeemView.as_view(), name="voucher-redeem"),
]
