"""The member portal's points pages, mounted in the ``portal:`` namespace by ``config.urls``."""

from __future__ import annotations

from django.urls import path

from loyalty.portal import views

portal_patterns = [
    path("", views.dashboard, name="home"),
    path("activity/", views.activity, name="activity"),
    path("rewards/", views.rewards, name="rewards"),
    path("rewards/<int:reward_id>/", views.reward_detail, name="reward"),
    path("vouchers/", views.vouchers, name="vouchers"),
    path("vouchers/<str:code>/", views.voucher_detail, name="voucher"),
]
