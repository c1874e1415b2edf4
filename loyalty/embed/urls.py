"""The storefront widget's routes, included under ``/embed/v1/`` by ``config.urls`` (namespace ``embed``)."""

from __future__ import annotations

from django.urls import path

from loyalty.embed import views

app_name = "embed"

urlpatterns = [
    path("klubb.js", views.script, name="script"),
    path("<str:key>/config/", views.ConfigView.as_view(), name="config"),
    path("<str:key>/session/", views.SessionView.as_view(), name="session"),
    path("<str:key>/me/", views.MeView.as_view(), name="me"),
    path("<str:key>/badges/", views.BadgesView.as_view(), name="badges"),
    path("<str:key>/redemptions/", views.RedemptionsView.as_view(), name="redemptions"),
]
