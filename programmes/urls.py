"""The provider's pages, mounted at /provider/."""

from __future__ import annotations

from django.urls import path

from programmes import views

app_name = "programmes"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("referrals/<str:reference>/", views.referral_detail, name="referral"),
    path("referrals/<str:reference>/accept/", views.referral_accept, name="accept"),
    path("referrals/<str:reference>/decline/", views.referral_decline, name="decline"),
    path("referrals/<str:reference>/appointments/new/", views.appointment_book, name="book"),
    path(
        "referrals/<str:reference>/appointments/<int:pk>/reschedule/",
        views.appointment_reschedule,
        name="reschedule",
    ),
    path(
        "referrals/<str:reference>/appointments/<int:pk>/cancel/",
        views.appointment_cancel,
        name="cancel",
    ),
    path(
        "referrals/<str:reference>/appointments/<int:pk>/attendance/",
        views.attendance_record,
        name="attendance",
    ),
    path("referrals/<str:reference>/complete/", views.referral_complete, name="complete"),
    path("referrals/<str:reference>/notes/", views.note_add, name="note"),
    path("referrals/<str:reference>/caseworker/", views.referral_assign, name="assign"),
    path("referrals/<str:reference>/report/", views.programme_report, name="report"),
    path("sessions/", views.session_list, name="sessions"),
    path("sessions/new/", views.session_create, name="session_create"),
    path("sessions/<int:pk>/", views.session_detail, name="session"),
]
