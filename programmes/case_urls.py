"""The officer's referral of a case, mounted under /cases/ beside the case pages."""

from __future__ import annotations

from django.urls import path

from programmes import views

app_name = "referrals"

urlpatterns = [
    path("<str:reference>/refer/", views.refer, name="refer"),
    path("<str:reference>/notice/", views.referral_notice, name="notice"),
]
