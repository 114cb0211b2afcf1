from __future__ import annotations

from django.urls import path

from cases import views

app_name = "cases"

urlpatterns = [
    path("", views.case_list, name="list"),
    path("new/", views.find_person, name="find_person"),
    path("new/person/", views.add_person, name="add_person"),
    path("new/<str:token>/", views.case_create, name="create"),
    path("<str:reference>/", views.case_detail, name="detail"),
    path("<str:reference>/eligibility/", views.eligibility_check, name="eligibility"),
    path(
        "<str:reference>/eligibility/<int:decision_id>/replay/",
        views.decision_replay,
        name="replay",
    ),
    path("<str:reference>/offer/", views.offer, name="offer"),
    path("<str:reference>/close/", views.close_ineligible, name="close"),
    path("<str:reference>/override/", views.override_eligibility, name="override"),
    path("<str:reference>/officer/", views.assign_officer, name="assign"),
    path("<str:reference>/correct/", views.case_correct, name="correct"),
    path("<str:reference>/correct-person/", views.person_correct, name="correct_person"),
]
