from __future__ import annotations

from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.search, name="search"),
    path("person/<int:person_id>/", views.person, name="person"),
    path("export/", views.export, name="export"),
]
