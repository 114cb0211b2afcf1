"""The analyst's report pages, mounted at /reports/: one page and one CSV per report."""

from __future__ import annotations

from django.urls import path

from reports import views

app_name = "reports"

urlpatterns = [
    path("", views.index, name="index"),
    *(path(f"{slug}/", views.report_page, {"slug": slug}, name=slug) for slug in views.REPORTS),
    *(
        path(f"{slug}/csv/", views.report_csv, {"slug": slug}, name=f"{slug}_csv")
        for slug in views.REPORTS
    ),
]
