"""The provider API: the whole journey with a token, scoping, data minimisation, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.response import Response
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from audit.models import AuditEvent
from base.clock import london_date
from cases.models import Case, CaseStatusChange, EligibilityDecision, SchemePolicy
from cases.services import DrugQuantity, case_create, eligibility_check, offer_record, person_create
from programmes.models import Appointment, Attendance, Programme, Referral, ReferralStatusChange
from programmes.services import referral_create
from tests import factories
from tests.errors import field_errors

REFERRALS = "/api/v1/referrals/"
APPOINTMENTS = "/api/v1/appointments/"
LONDON = ZoneInfo("Europe/London")

# Keys that would carry police-only facts; a provider's JSON never has any of them, anywhere.
POLICE_KEYS = {
    "case",
    "custody_record_number",
    "crime_reference",
    "pnc_id",
    "drugs",
    "offence_type",
    "offence_date",
    "setting",
    "circumstances",
    "admitted_offence",
    "previous_drug_conviction_or_caution",
    "reasons",
    "eligibility",
    "latest_eligibility",
    "history_found",
}

COUNTED = (Case, CaseStatusChange, Referral, ReferralStatusChange, Appointment, Attendance)


def counts() -> dict[str, int]:
    """How many rows each table the provider endpoints write holds (audit reads excluded)."""
    tally = {model.__name__: model.objects.count() for model in COUNTED}
    tally["changes audited"] = AuditEvent.objects.exclude(action__in=["view", "disclose"]).count()
    return tally


def today() -> date:
    """Today in Europe/London."""
    return london_date(timezone.now())


def token_client(user: User) -> APIClient:
    """An API client that authenticates as `user` with a real token, as a provider system does."""
    _, key = ApiToken.issue(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def client_for(user: User) -> APIClient:
    """An API client signed in as `user`."""
    client = APIClient()
    client.force_authenticate(user)
    return client


def future(days: int = 2) -> str:
    """A time `days` from now, ISO 8601 with its UTC offset."""
    return (timezone.now() + timedelta(days=days)).astimezone(LONDON).isoformat()


def move_clock_past(appointment_id: int) -> None:
    """Moving the clock: the appointment started an hour ago, so attendance can be recorded."""
    Appointment.objects.filter(pk=appointment_id).update(
        starts_at=timezone.now() - timedelta(hours=1)
    )


def keys_in(value: Any) -> Iterator[str]:
    """Every key of every object nested in a JSON value."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from keys_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from keys_in(item)


def police_secrets(case: Case) -> list[str]:
    """The case's distinctive police-only facts, as they could appear in a response."""
    decision = EligibilityDecision.objects.filter(case=case).first()
    reasons = [reason["message"] for reason in decision.reasons] if decision else []
    drugs = [name for drug in case.drugs.select_related("drug") for name in drug.drug.name.split()]
    codes = [drug.drug.code for drug in case.drugs.select_related("drug")]
    return [
        case.reference,
        case.custody_record_number,
        case.crime_reference,
        case.person.pnc_id,
        case.offence_type,
        case.get_offence_type_display(),
        *[name for name in drugs if len(name) > 3 and name.isalpha()],
        *codes,
        *reasons,
    ]


def assert_minimal(response: Response, case: Case) -> None:
    """The response carries none of the case's police-only facts, by value or by key."""
    text = response.content.decode()
    for secret in police_secrets(case):
        assert secret
        assert secret.lower() not in text.lower(), (secret, response.request["PATH_INFO"])
    if text:
        assert not POLICE_KEYS & set(keys_in(json.loads(text))), response.request["PATH_INFO"]


@pytest.fixture
def referred_case(officer: User, policy: SchemePolicy, programme: Programme) -> Case:
    """A Thames Valley case with distinctive police details, checked, accepted and referred."""
    person = person_create(
        by=officer,
        given_name="Siân",
        family_name="O'Brien-Jones",
        date_of_birth=date(1998, 3, 14),
        pnc_id="2019/0123456A",
        email="sian@example.org",
        contact_preference="email",
        preferred_language="cy",
        access_needs="Step-free access",
        interpreter_language="Welsh",
    )
    case = case_create(
        by=officer,
        person=person,
        custody_record_number="CR-SECRET-77",
        crime_reference="43260099999",
        offence_date=today() - timedelta(days=2),
        drugs=[
            DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("3.5")),
            DrugQuantity(drug=factories.drug("cocaine"), quantity=Decimal("0.5")),
        ],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    decision = eligibility_check(case=case, by=officer)
    assert decision.eligible, decision.reasons
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    case.refresh_from_db()
    referral_create(case=case, programme=programme, by=officer)
    case.refresh_from_db()
    return case


@pytest.fixture
def referral(referred_case: Case) -> Referral:
    return referred_case.referrals.get()


@pytest.fixture
def staff(programme: Programme) -> User:
    """A member of staff of the provider that runs the programme."""
    return factories.provider_staff(programme.provider)


@pytest.fixture
def api(staff: User) -> APIClient:
    """The provider's API client, with a token."""
    return token_client(staff)


def test_full_provider_journey_over_the_api_with_a_token(
    api: APIClient, officer: User, referral: Referral, referred_case: Case
) -> None:
    """List new referrals, accept, book, record attendance twice, complete: the case closes."""
    listed = api.get(REFERRALS, {"status": "new"})
    assert listed.status_code == 200
    [row] = listed.json()["results"]
    assert row["reference"] == referral.reference
    assert row["person"]["date_of_birth"] == "1998-03-14"
    assert row["appointments"] == []
    assert_minimal(listed, referred_case)

    accepted = api.post(f"{REFERRALS}{referral.reference}/accept/")
    assert accepted.status_code == 200
    assert accepted.json()["status"] == "accepted"
    assert_minimal(accepted, referred_case)

    booking = api.post(
        f"{REFERRALS}{referral.reference}/appointments/",
        {"starts_at": future(), "kind": "assessment", "mode": "in_person", "location": "Reading"},
        format="json",
    )
    assert booking.status_code == 201
    appointment_id = booking.json()["id"]
    assert booking.json()["attendance"] is None
    assert_minimal(booking, referred_case)

    move_clock_past(appointment_id)

    first = api.post(f"{APPOINTMENTS}{appointment_id}/attendance/", {"outcome": "attended"})
    assert first.status_code == 201
    retry = api.post(f"{APPOINTMENTS}{appointment_id}/attendance/", {"outcome": "attended"})
    assert retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["id"] == first.json()["id"]
    assert Attendance.objects.filter(appointment_id=appointment_id).count() == 1
    assert_minimal(retry, referred_case)

    completion = api.post(
        f"{REFERRALS}{referral.reference}/completion/",
        {"completed_on": today().isoformat()},
        format="json",
    )
    assert completion.status_code == 200
    assert completion.json()["status"] == "completed"
    assert completion.json()["completed_on"] == today().isoformat()
    assert completion.json()["appointments"][0]["attendance"]["outcome"] == "attended"
    assert_minimal(completion, referred_case)

    referred_case.refresh_from_db()
    assert (referred_case.status, referred_case.outcome) == ("closed", "diverted")
    assert referred_case.home_office_outcome == 22
    case = (
        client_for(officer)
        .get(f"/api/v1/cases/{referred_case.reference}/?reason=Checking+the+outcome")
        .json()
    )
    assert (case["status"], case["outcome"], case["home_office_outcome"]) == (
        "closed",
        "diverted",
        22,
    )
    assert case["referrals"][0]["status"] == "completed"


def test_referral_detail_shows_what_the_provider_needs_and_nothing_of_the_police_case(
    api: APIClient, referral: Referral, referred_case: Case
) -> None:
    response = api.get(f"{REFERRALS}{referral.reference}/")

    assert response.status_code == 200
    body = response.json()
    assert body["person"] == {
        "given_name": "Siân",
        "family_name": "O'Brien-Jones",
        "date_of_birth": "1998-03-14",
        "contact_preference": "email",
        "email": "sian@example.org",
        "phone": "",
        "preferred_language": "cy",
        "access_needs": "Step-free access",
        "interpreter_language": "Welsh",
    }
    assert body["programme"]["sessions_required"] == 1
    assert body["first_appointment_due"] and body["completion_due"]
    assert_minimal(response, referred_case)


def test_every_provider_endpoint_keeps_the_police_case_to_itself(
    api: APIClient, staff: User, referral: Referral, referred_case: Case
) -> None:
    reference = referral.reference
    responses = [api.get(REFERRALS), api.post(f"{REFERRALS}{reference}/accept/")]
    booked = api.post(
        f"{REFERRALS}{reference}/appointments/", {"starts_at": future()}, format="json"
    )
    other = api.post(
        f"{REFERRALS}{reference}/appointments/", {"starts_at": future(3)}, format="json"
    )
    moved = api.patch(
        f"{APPOINTMENTS}{other.json()['id']}/", {"starts_at": future(4)}, format="json"
    )
    cancelled = api.post(f"{APPOINTMENTS}{other.json()['id']}/cancel/", {"reason": "Ill"})
    move_clock_past(booked.json()["id"])
    attendance = api.post(f"{APPOINTMENTS}{booked.json()['id']}/attendance/", {"outcome": "late"})
    corrected = api.post(
        f"{APPOINTMENTS}{booked.json()['id']}/attendance/",
        {"outcome": "attended", "correction_reason": "Register was wrong"},
    )
    responses += [
        booked,
        other,
        moved,
        cancelled,
        attendance,
        corrected,
        api.get(f"{APPOINTMENTS}{booked.json()['id']}/"),
        api.get(f"{REFERRALS}{reference}/"),
        api.get(REFERRALS, {"updated_since": "2000-01-01T00:00:00Z"}),
        api.post(f"{REFERRALS}{reference}/completion/", {"completed_on": "2000-01-01"}),
        api.post(f"{REFERRALS}{reference}/completion/", {"completed_on": today().isoformat()}),
        api.post(f"{REFERRALS}{reference}/decline/", {"reason": "Too late"}),
    ]

    assert [r.status_code for r in responses] == [
        200,
        200,
        201,
        201,
        200,
        200,
        201,
        201,
        200,
        200,
        200,
        400,
        200,
        409,
    ]
    for response in responses:
        assert_minimal(response, referred_case)


def test_decline_with_a_reason_sends_the_case_back_to_the_force(
    api: APIClient, referral: Referral, referred_case: Case
) -> None:
    response = api.post(
        f"{REFERRALS}{referral.reference}/decline/", {"reason": "No capacity"}, format="json"
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["decline_reason"]) == (
        "declined",
        "No capacity",
    )
    referred_case.refresh_from_db()
    assert referred_case.status == "accepted"
    assert_minimal(response, referred_case)


@pytest.mark.parametrize("body", [{}, {"reason": "  "}])
def test_decline_without_a_reason_is_400_on_reason_and_changes_nothing(
    api: APIClient, referral: Referral, body: dict[str, str]
) -> None:
    before = counts()

    response = api.post(f"{REFERRALS}{referral.reference}/decline/", body, format="json")

    assert response.status_code == 400
    assert "reason for declining" in response.json()["reason"][0]
    assert counts() == before


def test_accepting_an_accepted_referral_is_409(api: APIClient, referral: Referral) -> None:
    api.post(f"{REFERRALS}{referral.reference}/accept/")

    response = api.post(f"{REFERRALS}{referral.reference}/accept/")

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


# Appointments


@pytest.fixture
def accepted(api: APIClient, referral: Referral) -> Referral:
    """The referral, accepted over the API."""
    assert api.post(f"{REFERRALS}{referral.reference}/accept/").status_code == 200
    return referral


def book(api: APIClient, referral: Referral, **fields: Any) -> dict[str, Any]:
    """Book an appointment two days ahead over the API; its JSON."""
    response = api.post(
        f"{REFERRALS}{referral.reference}/appointments/",
        {"starts_at": future(), **fields},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_a_time_without_an_offset_is_taken_as_london_time(
    api: APIClient, accepted: Referral
) -> None:
    summer = datetime(timezone.now().year + 1, 7, 1, 10, 0)

    body = book(api, accepted, starts_at=summer.isoformat())

    assert body["starts_at"] == f"{summer.year}-07-01T10:00:00+01:00"
    stored = Appointment.objects.get(pk=body["id"]).starts_at
    assert stored == datetime(summer.year, 7, 1, 9, 0, tzinfo=ZoneInfo("UTC"))


def test_booking_on_a_group_session_uses_its_time(
    api: APIClient, accepted: Referral, staff: User
) -> None:
    session = factories.GroupSessionFactory(programme=accepted.programme, online=True)

    response = api.post(
        f"{REFERRALS}{accepted.reference}/appointments/",
        {"group_session": session.pk},
        format="json",
    )

    assert response.status_code == 201
    assert response.json()["group_session"] == session.pk
    assert response.json()["mode"] == "online"
    assert datetime.fromisoformat(response.json()["starts_at"]) == session.starts_at


def test_booking_on_another_providers_group_session_reads_as_no_such_session(
    api: APIClient, accepted: Referral
) -> None:
    theirs = factories.GroupSessionFactory()
    before = counts()

    response = api.post(
        f"{REFERRALS}{accepted.reference}/appointments/",
        {"group_session": theirs.pk},
        format="json",
    )

    assert response.status_code == 400
    assert field_errors(response) == {
        "group_session": [f"No group session with id {theirs.pk} among your programmes' sessions."]
    }
    assert counts() == before


def test_booking_in_the_past_is_400_on_starts_at_and_saves_nothing(
    api: APIClient, accepted: Referral
) -> None:
    before = counts()

    response = api.post(
        f"{REFERRALS}{accepted.reference}/appointments/",
        {"starts_at": (timezone.now() - timedelta(hours=2)).isoformat(), "kind": "session"},
        format="json",
    )

    assert response.status_code == 400
    assert "must start in the future" in response.json()["starts_at"][0]
    assert counts() == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("kind", "massage", "use assessment or session"),
        ("mode", "carrier pigeon", "use in_person or online"),
        ("starts_at", "next tuesday", "Datetime has wrong format"),
    ],
)
def test_booking_with_a_bad_field_is_400_naming_it(
    api: APIClient, accepted: Referral, field: str, value: str, message: str
) -> None:
    before = counts()

    response = api.post(
        f"{REFERRALS}{accepted.reference}/appointments/",
        {"starts_at": future(), field: value},
        format="json",
    )

    assert response.status_code == 400
    assert message in response.json()[field][0]
    assert counts() == before


def test_booking_before_accepting_is_409(api: APIClient, referral: Referral) -> None:
    before = counts()

    response = api.post(
        f"{REFERRALS}{referral.reference}/appointments/", {"starts_at": future()}, format="json"
    )

    assert response.status_code == 409
    assert "accept it before booking" in response.json()["detail"]
    assert counts() == before


def test_reschedule_moves_the_appointment_and_refuses_the_past(
    api: APIClient, accepted: Referral
) -> None:
    appointment = book(api, accepted)
    later = future(5)

    moved = api.patch(
        f"{APPOINTMENTS}{appointment['id']}/", {"starts_at": later, "reason": "Asked"}, "json"
    )
    past = api.patch(
        f"{APPOINTMENTS}{appointment['id']}/",
        {"starts_at": (timezone.now() - timedelta(days=1)).isoformat()},
        format="json",
    )

    assert moved.status_code == 200
    assert datetime.fromisoformat(moved.json()["starts_at"]) == datetime.fromisoformat(later)
    assert past.status_code == 400
    assert "starts_at" in past.json()
    stored = Appointment.objects.get(pk=appointment["id"]).starts_at
    assert stored == datetime.fromisoformat(later)


def test_cancel_marks_the_appointment_cancelled_and_a_second_cancel_is_409(
    api: APIClient, accepted: Referral
) -> None:
    appointment = book(api, accepted)

    first = api.post(f"{APPOINTMENTS}{appointment['id']}/cancel/", {"reason": "Ill"})
    second = api.post(f"{APPOINTMENTS}{appointment['id']}/cancel/")

    assert (first.status_code, first.json()["status"]) == (200, "cancelled")
    assert second.status_code == 409


# Attendance


@pytest.fixture
def started(api: APIClient, accepted: Referral) -> dict[str, Any]:
    """An appointment booked over the API whose start has passed (moving the clock)."""
    appointment = book(api, accepted)
    move_clock_past(appointment["id"])
    return appointment


def attend(api: APIClient, appointment: dict[str, Any], **body: str) -> Response:
    return api.post(f"{APPOINTMENTS}{appointment['id']}/attendance/", body, format="json")


def test_attendance_answers_with_the_row_and_the_history(
    api: APIClient, staff: User, started: dict[str, Any]
) -> None:
    response = attend(api, started, outcome="excused", reason="In hospital")

    assert response.status_code == 201
    body = response.json()
    attendance = Attendance.objects.get()
    assert body["id"] == attendance.pk
    assert body["appointment"] == started["id"]
    assert (body["outcome"], body["reason"], body["is_current"]) == ("excused", "In hospital", True)
    assert body["recorded_by"] == str(staff)
    assert datetime.fromisoformat(body["recorded_at"]) == attendance.recorded_at
    assert [row["id"] for row in body["history"]] == [attendance.pk]


def test_a_correction_keeps_the_earlier_outcome_in_the_history(
    api: APIClient, staff: User, started: dict[str, Any], referral: Referral
) -> None:
    first = attend(api, started, outcome="did_not_attend").json()
    colleague = factories.provider_staff(staff.provider)

    refused = attend(api, started, outcome="attended")
    corrected = token_client(colleague).post(
        f"{APPOINTMENTS}{started['id']}/attendance/",
        {"outcome": "attended", "correction_reason": "Was in the wrong room"},
        format="json",
    )

    assert refused.status_code == 400
    assert "give a reason for the correction" in refused.json()["correction_reason"][0]
    assert corrected.status_code == 201
    history = corrected.json()["history"]
    assert [(h["id"], h["outcome"], h["is_current"], h["recorded_by"]) for h in history] == [
        (first["id"], "did_not_attend", False, str(staff)),
        (corrected.json()["id"], "attended", True, str(colleague)),
    ]
    assert history[1]["correction_reason"] == "Was in the wrong room"
    detail = api.get(f"{REFERRALS}{referral.reference}/").json()
    [appointment] = detail["appointments"]
    assert appointment["attendance"]["outcome"] == "attended"
    assert [h["outcome"] for h in appointment["attendance_history"]] == [
        "did_not_attend",
        "attended",
    ]


def test_a_correction_reads_the_appointment_once_and_locks_it_with_its_referral_at_once(
    api: APIClient, started: dict[str, Any]
) -> None:
    attend(api, started, outcome="attended")

    with CaptureQueriesContext(connection) as queries:
        corrected = attend(api, started, outcome="late", correction_reason="Came at 10:20")

    assert corrected.status_code == 201
    assert [h["outcome"] for h in corrected.json()["history"]] == ["attended", "late"]
    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT "programmes_appointment"')]
    assert len(reads) == 2  # found (or 404), then locked
    assert 'FOR UPDATE OF "programmes_appointment", "programmes_referral"' in reads[1]
    assert not any(q["sql"].startswith('SELECT "programmes_referral"') for q in queries)


def test_an_outcome_that_is_not_one_of_the_five_is_400_listing_them(
    api: APIClient, started: dict[str, Any]
) -> None:
    before = counts()

    response = attend(api, started, outcome="asleep")

    assert response.status_code == 400
    assert field_errors(response) == {
        "outcome": [
            "“asleep” is not an outcome: use one of attended, late, did_not_attend, "
            "cancelled_by_provider, excused."
        ]
    }
    assert counts() == before


def test_an_excused_absence_without_a_reason_is_400_on_reason(
    api: APIClient, started: dict[str, Any]
) -> None:
    before = counts()

    response = attend(api, started, outcome="excused")

    assert response.status_code == 400
    assert field_errors(response) == {"reason": ["Give the reason the absence is excused."]}
    assert counts() == before


def test_attendance_before_the_appointment_starts_is_400(
    api: APIClient, accepted: Referral
) -> None:
    appointment = book(api, accepted)
    before = counts()

    response = attend(api, appointment, outcome="attended")

    assert response.status_code == 400
    assert "has not started yet" in response.json()["outcome"][0]
    assert counts() == before


def test_attendance_on_another_providers_appointment_is_404_and_changes_nothing(
    api: APIClient,
) -> None:
    theirs = factories.AppointmentFactory()
    before = counts()

    response = api.post(f"{APPOINTMENTS}{theirs.pk}/attendance/", {"outcome": "attended"})

    assert response.status_code == 404
    assert counts() == before


def test_completion_before_the_required_sessions_is_400_with_the_count(
    api: APIClient, accepted: Referral, started: dict[str, Any]
) -> None:
    Programme.objects.filter(pk=accepted.programme_id).update(sessions_required=3)
    attend(api, started, outcome="attended")
    before = counts()

    response = api.post(
        f"{REFERRALS}{accepted.reference}/completion/", {"completed_on": today().isoformat()}
    )

    assert response.status_code == 400
    assert response.json()["completed_on"][0].startswith("1 of the 3 required sessions attended")
    assert counts() == before
    accepted.refresh_from_db()
    assert accepted.status == "in_progress"


# Scoping: another provider's referrals and appointments are not there


def test_another_providers_referral_and_appointment_are_404_on_every_endpoint(
    api: APIClient, referral: Referral
) -> None:
    theirs = factories.AppointmentFactory(starts_at=timezone.now() + timedelta(days=2))
    new_theirs = factories.ReferralFactory()
    ref, pk = theirs.referral.reference, theirs.pk
    before = counts()
    statuses = {
        r.pk: r.status for r in Referral.objects.filter(pk__in=[theirs.referral_id, new_theirs.pk])
    }

    responses = {
        "detail": api.get(f"{REFERRALS}{ref}/"),
        "accept": api.post(f"{REFERRALS}{new_theirs.reference}/accept/"),
        "decline": api.post(f"{REFERRALS}{new_theirs.reference}/decline/", {"reason": "x"}),
        "book": api.post(f"{REFERRALS}{ref}/appointments/", {"starts_at": future()}),
        "complete": api.post(f"{REFERRALS}{ref}/completion/", {"completed_on": "2026-01-01"}),
        "appointment": api.get(f"{APPOINTMENTS}{pk}/"),
        "reschedule": api.patch(f"{APPOINTMENTS}{pk}/", {"starts_at": future(3)}),
        "cancel": api.post(f"{APPOINTMENTS}{pk}/cancel/"),
        "attendance": api.post(f"{APPOINTMENTS}{pk}/attendance/", {"outcome": "attended"}),
    }

    assert {name: r.status_code for name, r in responses.items()} == dict.fromkeys(responses, 404)
    assert counts() == before
    assert {
        r.pk: r.status for r in Referral.objects.filter(pk__in=[theirs.referral_id, new_theirs.pk])
    } == statuses
    listed = api.get(REFERRALS).json()["results"]
    assert [r["reference"] for r in listed] == [referral.reference]


def test_force_staff_get_403_on_the_provider_endpoints(
    officer: User, referral: Referral, referred_case: Case
) -> None:
    appointment = factories.AppointmentFactory(referral__case__status="in_programme")
    officer_api = client_for(officer)
    before = counts()

    responses = [
        officer_api.post(f"{REFERRALS}{referral.reference}/accept/"),
        officer_api.post(f"{REFERRALS}{referral.reference}/decline/", {"reason": "x"}),
        officer_api.post(f"{REFERRALS}{referral.reference}/appointments/", {}),
        officer_api.post(f"{REFERRALS}{referral.reference}/completion/", {}),
        officer_api.get(f"{APPOINTMENTS}{appointment.pk}/"),
        officer_api.post(f"{APPOINTMENTS}{appointment.pk}/attendance/", {"outcome": "attended"}),
    ]

    assert [r.status_code for r in responses] == [403] * len(responses)
    assert counts() == before


def test_officer_reads_the_referral_of_their_case_and_not_another_forces(
    officer: User, referral: Referral
) -> None:
    theirs = factories.ReferralFactory(case=factories.CaseFactory(force=factories.force("DUR")))
    officer_api = client_for(officer)

    ours = officer_api.get(f"{REFERRALS}{referral.reference}/")
    other = officer_api.get(f"{REFERRALS}{theirs.reference}/")

    assert ours.status_code == 200
    assert ours.json()["case"] == referral.case.reference
    assert other.status_code == 404


# Reads are audited as disclosures


def test_provider_reads_are_audited_as_disclosures(
    api: APIClient, referral: Referral, referred_case: Case
) -> None:
    more = factories.ReferralFactory.create_batch(2, programme=referral.programme)

    api.get(REFERRALS)
    api.get(f"{REFERRALS}{referral.reference}/")

    events = AuditEvent.objects.filter(action="disclose", object_type="programmes.referral")
    assert sorted((e.object_id, e.person_id) for e in events) == sorted(
        [(r.reference, r.case.person_id) for r in [referral, *more]]
        + [(referral.reference, referred_case.person_id)]
    )


# Syncing


def test_updated_since_lists_referrals_changed_by_booking_or_attendance(
    api: APIClient, staff: User, accepted: Referral
) -> None:
    other = factories.ReferralFactory(
        programme=accepted.programme, status="accepted", case__status="in_programme"
    )
    appointment = factories.AppointmentFactory(referral=other)
    long_ago = timezone.now() - timedelta(days=10)
    Referral.objects.update(updated_at=long_ago)
    since = (timezone.now() - timedelta(minutes=1)).isoformat()

    assert api.get(REFERRALS, {"updated_since": since}).json()["results"] == []

    book(api, accepted)
    after_booking = api.get(REFERRALS, {"updated_since": since}).json()["results"]
    Referral.objects.filter(pk=accepted.pk).update(updated_at=long_ago)
    api.post(f"{APPOINTMENTS}{appointment.pk}/attendance/", {"outcome": "did_not_attend"})
    after_attendance = api.get(REFERRALS, {"updated_since": since}).json()["results"]

    assert [r["reference"] for r in after_booking] == [accepted.reference]
    assert [r["reference"] for r in after_attendance] == [other.reference]


def test_provider_referral_list_with_appointments_does_not_grow_queries_with_rows(
    db: None, django_assert_max_num_queries: Any
) -> None:
    programme = factories.ProgrammeFactory()
    staff = factories.provider_staff(programme.provider)
    api = client_for(staff)

    def referral_with_history() -> None:
        appointment = factories.AppointmentFactory(referral__programme=programme, booked_by=staff)
        Attendance.objects.create(
            appointment=appointment, outcome="late", recorded_by=staff, is_current=False
        )
        Attendance.objects.create(
            appointment=appointment,
            outcome="attended",
            recorded_by=factories.provider_staff(programme.provider),
            correction_reason="Register",
        )

    for _ in range(2):
        referral_with_history()
    with CaptureQueriesContext(connection) as few:
        assert api.get(REFERRALS).status_code == 200
    for _ in range(15):
        referral_with_history()

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get(REFERRALS)

    rows = response.json()["results"]
    assert len(rows) == 17
    assert all(len(row["appointments"][0]["attendance_history"]) == 2 for row in rows)
