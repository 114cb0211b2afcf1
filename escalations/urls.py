"""The supervisor's escalation pages, mounted at /escalations/."""

from __future__ import annotations

from django.urls import path

from escalations import views

app_name = "escalations"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("waiting/", views.waiting, name="waiting"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/summary/", views.summary, name="summary"),
]
