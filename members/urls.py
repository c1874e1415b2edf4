"""The member's own pages (profile, preferences, consents, privacy), mounted in ``portal:`` by ``config.urls``."""

from __future__ import annotations

from django.urls import path

from members import messaging_views, views

portal_patterns = [
    path("profile/", views.profile, name="profile"),
    path("profile/consents/", views.consents, name="consents"),
    path("profile/privacy/", views.privacy, name="privacy"),
    path("profile/privacy/my-data.json", views.privacy_export, name="privacy_export"),
    path("profile/privacy/delete/", views.privacy_erase, name="privacy_erase"),
    path("goodbye/", views.goodbye, name="goodbye"),
]

# Reached from a message without logging in: the signed token says who and what. And the built-in privacy policy
# and terms, linked from sign-up when the club has no pages of its own (KLUBB_PRIVACY_URL, KLUBB_TERMS_URL).
public_patterns = [
    path("unsubscribe/<str:token>/", messaging_views.unsubscribe, name="unsubscribe"),
    path("privacy-policy/", views.privacy_policy, name="privacy-policy"),
    path("terms/", views.terms, name="terms"),
]

# Signing in without an account yet: a shop enrolled the member by phone alone.
claim_patterns = [
    path("claim/", views.claim, name="claim"),
    path("claim/code/", views.claim_code, name="claim_code"),
]
