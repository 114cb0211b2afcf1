"""The REST API, version 1: one router for every app's endpoints."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import DefaultRouter

from cases.api import CaseViewSet, PeopleView
from programmes.api import AppointmentViewSet, ProgrammeViewSet, ReferralViewSet
from reports.api import report_views

router = DefaultRouter()
router.register("cases", CaseViewSet, basename="case")
router.register("referrals", ReferralViewSet, basename="referral")
router.register("programmes", ProgrammeViewSet, basename="programme")
router.register("appointments", AppointmentViewSet, basename="appointment")

urlpatterns = [
    # The person search answers {"exact", "possible"}, not a page of rows, so it is a plain view.
    path("people/", PeopleView.as_view(), name="people"),
    *router.urls,
    *(
        path(f"reports/{slug}/", view.as_view(), name=f"report-{slug}")
        for slug, view in report_views().items()
    ),
]
