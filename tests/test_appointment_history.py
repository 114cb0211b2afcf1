"""Moving or cancelling an appointment keeps what it replaced: the earlier time, who, when and
why, shown to the provider and to the force, with the number of moves, and in the API."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import User
from audit.models import AuditEvent
from base.clock import LONDON
from cases.models import SchemePolicy
from programmes import services
from programmes.models import Appointment, AppointmentChange, Provider, Referral
from retention.subject_access import subject_access_record
from tests import factories
from tests.test_provider_pages import TODAY, date_fields, errors_of, refer

pytestmark = pytest.mark.django_db


@pytest.fixture
def thames_policy(db) -> SchemePolicy:
    return factories.PolicyFactory(
        force=factories.force("TVP"),
        personal_use_thresholds={"ketamine": "1", "cocaine": "1", "cannabis": "28"},
    )


@pytest.fixture
def provider(db) -> Provider:
    return factories.ProviderFactory(name="Pathways")


@pytest.fixture
def staff(provider: Provider) -> User:
    return factories.UserFactory(
        role="provider_staff", provider=provider, first_name="Rhian", last_name="Evans"
    )


@pytest.fixture
def referral(provider: Provider, officer: User, thames_policy: SchemePolicy, staff: User):
    programme = factories.ProgrammeFactory(provider=provider, name="Drug awareness")
    referral = refer(programme, officer, given_name="Osian")
    services.referral_accept(referral=referral, by=staff)
    return referral


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def at(days: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(TODAY + timedelta(days=days), time(hour, minute), tzinfo=LONDON)


def move(client: Client, referral: Referral, appointment: Appointment, when: datetime, why: str):
    url = f"/provider/referrals/{referral.reference}/appointments/{appointment.pk}/reschedule/"
    return client.post(
        url,
        {
            **date_fields("date", when.date()),
            "time": f"{when:%H:%M}",
            "reason": why,
        },
    )


@pytest.fixture
def moved_twice(referral: Referral, staff: User) -> Appointment:
    appointment = services.appointment_book(referral=referral, by=staff, starts_at=at(2, 10))
    client = signed_in(staff)
    assert (
        move(
            client, referral, appointment, at(3, 14, 30), "Clashes with a job interview"
        ).status_code
        == 302
    )
    assert move(client, referral, appointment, at(4, 9), "Facilitator ill").status_code == 302
    appointment.refresh_from_db()
    return appointment


def test_moving_keeps_every_earlier_time_with_who_when_and_why(moved_twice: Appointment) -> None:
    assert moved_twice.starts_at == at(4, 9)
    moves = list(AppointmentChange.objects.filter(appointment=moved_twice).order_by("id"))
    assert [(m.kind, m.starts_at_before, m.starts_at_after) for m in moves] == [
        ("moved", at(2, 10), at(3, 14, 30)),
        ("moved", at(3, 14, 30), at(4, 9)),
    ]
    assert [m.reason for m in moves] == ["Clashes with a job interview", "Facilitator ill"]
    assert {str(m.changed_by) for m in moves} == {"Rhian Evans"}
    assert (
        AuditEvent.objects.filter(
            object_type="programmes.appointment", object_id=str(moved_twice.pk), action="change"
        ).count()
        == 2
    )


def test_the_provider_sees_the_moves_and_how_many(
    referral: Referral, moved_twice: Appointment, staff: User
) -> None:
    page = signed_in(staff).get(f"/provider/referrals/{referral.reference}/").content.decode()

    card = page[page.index(f'data-appointment="{moved_twice.pk}"') :]
    assert 'data-moves="2"' in card and "Twice" in card
    first, second = at(2, 10), at(3, 14, 30)
    assert f"From <del>{first:%-d %B %Y} at 10:00am</del> to {second:%-d %B %Y} at 2:30pm" in card
    assert "by Rhian Evans" in card
    assert "“Clashes with a job interview”" in card and "“Facilitator ill”" in card


def test_the_force_sees_the_moves_on_the_case_page(
    referral: Referral, moved_twice: Appointment, officer: User
) -> None:
    page = signed_in(officer).get(f"/cases/{referral.case.reference}/").content.decode()

    assert 'data-moves="2"' in page and "Moved twice" in page
    assert f"from {at(2, 10):%-d %B %Y} at 10:00am" in page
    assert "“Clashes with a job interview”" in page and "by Rhian Evans" in page


def test_the_reschedule_page_shows_the_earlier_times_and_needs_a_reason(
    referral: Referral, moved_twice: Appointment, staff: User
) -> None:
    client = signed_in(staff)
    url = f"/provider/referrals/{referral.reference}/appointments/{moved_twice.pk}/reschedule/"

    assert "“Facilitator ill”" in client.get(url).content.decode()
    refused = move(client, referral, moved_twice, at(6, 11), "  ")
    assert "Give the reason the appointment is moving" in errors_of(refused)
    moved_twice.refresh_from_db()
    assert moved_twice.starts_at == at(4, 9)


def test_a_cancellation_shows_who_and_why_to_both_sides(
    referral: Referral, staff: User, officer: User
) -> None:
    appointment = services.appointment_book(referral=referral, by=staff, starts_at=at(2, 10))
    base = f"/provider/referrals/{referral.reference}/appointments/{appointment.pk}"
    response = signed_in(staff).post(f"{base}/cancel/", {"reason": "The person asked to"})
    assert response.status_code == 302

    provider_page = signed_in(staff).get(f"/provider/referrals/{referral.reference}/")
    case_page = signed_in(officer).get(f"/cases/{referral.case.reference}/")

    for page in (provider_page.content.decode(), case_page.content.decode()):
        assert "data-cancelled" in page
        assert "By Rhian Evans" in page or "Cancelled by Rhian Evans" in page
        assert "“The person asked to”" in page


def test_the_api_gives_the_moves_and_their_number(
    referral: Referral, moved_twice: Appointment, staff: User
) -> None:
    api = APIClient()
    api.force_authenticate(staff)

    data = api.get(f"/api/v1/appointments/{moved_twice.pk}/").json()

    assert data["times_moved"] == 2
    assert [c["kind"] for c in data["changes"]] == ["moved", "moved"]
    first = data["changes"][0]
    assert datetime.fromisoformat(first["starts_at_before"]) == at(2, 10)
    assert datetime.fromisoformat(first["starts_at_after"]) == at(3, 14, 30)
    assert first["reason"] == "Clashes with a job interview"
    assert first["changed_by"] == "Rhian Evans"


def test_moving_over_the_api_is_kept_in_the_history_too(referral: Referral, staff: User) -> None:
    appointment = services.appointment_book(referral=referral, by=staff, starts_at=at(2, 10))
    api = APIClient()
    api.force_authenticate(staff)

    response = api.patch(
        f"/api/v1/appointments/{appointment.pk}/",
        {"starts_at": at(5, 15).isoformat(), "reason": "Room double-booked"},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["times_moved"] == 1
    assert response.json()["changes"][0]["reason"] == "Room double-booked"


def test_a_booking_with_no_moves_says_nothing_about_moves(referral: Referral, staff: User) -> None:
    appointment = services.appointment_book(
        referral=referral, by=staff, starts_at=timezone.now() + timedelta(days=2)
    )

    page = signed_in(staff).get(f"/provider/referrals/{referral.reference}/").content.decode()

    card = page[page.index(f'data-appointment="{appointment.pk}"') :]
    assert "data-moves" not in card and "data-cancelled" not in card


def test_a_subject_access_copy_holds_the_moves_and_their_reasons(
    referral: Referral, moved_twice: Appointment
) -> None:
    record = subject_access_record(person=referral.case.person, reference="DP-2026-0001")

    (section,) = [s for s in record.sections if s.title == "Appointments moved or cancelled"]
    texts = [item.text for r in section.records for item in r.items]
    assert "Clashes with a job interview" in texts and "Facilitator ill" in texts
