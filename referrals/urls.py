"""Referral pages: the invite page joins the ``portal:`` namespace; ``/r/{code}`` is public."""

from __future__ import annotations

from django.urls import path

from referrals import views

portal_patterns = [
    path("invite/", views.invite, name="invite"),
]

public_patterns = [
    path("r/<str:code>/", views.landing, name="referral-landing"),
    path("r/<str:code>", views.landing),
    path("accounts/signup/", views.signup, name="account_signup"),
]
