from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import include, path

from members import views

urlpatterns = [
    path("", include(([path("", views.home, name="home")], "portal"))),
    path("accounts/login/", auth_views.LoginView.as_view(template_name="members/login.html"), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
]
