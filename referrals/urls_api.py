from __future__ import annotations

from django.urls import path

from referrals import api

app_name = "referrals-api"

urlpatterns = [
    path("members/<uuid:member_id>/referral/", api.MemberReferralView.as_view(), name="member-referral"),
]
