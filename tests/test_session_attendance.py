"""A group session's attendance: mark everyone booked as attended, then correct the exceptions
before saving, all in one form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import User
from programmes import services
from programmes.models import Appointment, Attendance, GroupSession
from tests import factories
from tests.test_provider_pages import refer

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_a(db) -> User:
    return factories.provider_staff(factories.ProviderFactory(name="Provider A"))


@pytest.fixture
def client_a(staff_a: User) -> Client:
    client = Client()
    client.force_login(staff_a)
    return client


@pytest.fixture
def past_session(officer: User, staff_a: User) -> tuple[GroupSession, list[Appointment]]:
    """A session that started two hours ago, with three people booked and nothing recorded."""
    factories.PolicyFactory(
        force=factories.force("TVP"),
        personal_use_thresholds={"ketamine": "1", "cocaine": "1", "cannabis": "28"},
    )
    programme = factories.ProgrammeFactory(provider=staff_a.provider, name="Awareness A")
    starts = timezone.now() + timedelta(days=1)
    session = services.group_session_create(
        programme=programme, by=staff_a, starts_at=starts, ends_at=starts + timedelta(hours=3)
    )
    bookings = []
    for name in ("Aled", "Bronwen", "Cai"):
        referral = refer(programme, officer, given_name=name)
        services.referral_accept(referral=referral, by=staff_a)
        bookings.append(
            services.appointment_book(referral=referral, by=staff_a, group_session=session)
        )
    started = timezone.now() - timedelta(hours=2)
    GroupSession.objects.filter(pk=session.pk).update(
        starts_at=started, ends_at=started + timedelta(hours=3)
    )
    Appointment.objects.filter(group_session=session).update(starts_at=started)
    return session, bookings


Session = tuple[GroupSession, list[Appointment]]


def checked(page: str, appointment: Appointment, outcome: str) -> bool:
    return f'name="outcome_{appointment.pk}" type="radio" value="{outcome}" checked' in page


def test_mark_everyone_attended_fills_the_form_and_saves_nothing(
    client_a: Client, past_session: Session
) -> None:
    session, bookings = past_session
    url = f"/provider/sessions/{session.pk}/"
    assert "Mark everyone as attended" in client_a.get(url).content.decode()

    page = client_a.get(url, {"mark": "attended"}).content.decode()

    assert all(checked(page, booking, "attended") for booking in bookings)
    assert "data-everyone-attended" in page and "nothing is saved until you do" in page
    assert not Attendance.objects.exists()


def test_then_correcting_the_exceptions_saves_everyone_in_one_post(
    client_a: Client, past_session: Session
) -> None:
    session, (aled, bronwen, cai) = past_session
    url = f"/provider/sessions/{session.pk}/"
    page = client_a.get(url, {"mark": "attended"}).content.decode()
    assert f'action="{url}"' in page  # saving leaves the "mark" view

    response = client_a.post(
        url,
        {
            f"outcome_{aled.pk}": "attended",
            f"outcome_{bronwen.pk}": "did_not_attend",
            f"outcome_{cai.pk}": "attended",
        },
    )

    assert response.status_code == 302
    current = dict(
        Attendance.objects.filter(is_current=True).values_list("appointment_id", "outcome")
    )
    assert current == {aled.pk: "attended", bronwen.pk: "did_not_attend", cai.pk: "attended"}


def test_marking_everyone_keeps_outcomes_already_recorded(
    client_a: Client, past_session: Session, staff_a
) -> None:
    session, (aled, bronwen, cai) = past_session
    services.attendance_record(
        appointment=bronwen, by=staff_a, outcome="excused", reason="Hospital appointment"
    )

    page = client_a.get(f"/provider/sessions/{session.pk}/", {"mark": "attended"}).content.decode()

    assert checked(page, aled, "attended") and checked(page, cai, "attended")
    assert checked(page, bronwen, "excused") and not checked(page, bronwen, "attended")


def test_no_mark_everyone_button_once_everyone_is_recorded(
    client_a: Client, past_session: Session, staff_a
) -> None:
    session, bookings = past_session
    for booking in bookings:
        services.attendance_record(appointment=booking, by=staff_a, outcome="attended")

    page = client_a.get(f"/provider/sessions/{session.pk}/").content.decode()

    assert "Mark everyone as attended" not in page
    assert "Save attendance" in page  # corrections are still made here
