from __future__ import annotations

from django.urls import path

from retention import views

app_name = "data_protection"

urlpatterns = [
    path("subject-access/", views.subject_access_find, name="subject_access_find"),
    path("subject-access/<int:person_id>/", views.subject_access, name="subject_access"),
]
