"""The provider's pages with the Django test client: scope, data minimisation, bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from itertools import count

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import Role, User
from audit.models import AuditEvent
from base.clock import LONDON, london_date
from cases.models import Case, CaseOutcome, CaseStatus, SchemePolicy
from cases.services import DrugQuantity, case_create, eligibility_check, offer_record
from programmes import services
from programmes.models import (
    Appointment,
    Attendance,
    GroupSession,
    Programme,
    Provider,
    Referral,
    ReferralStatus,
)
from programmes.services import referral_create
from tests import factories

pytestmark = pytest.mark.django_db

# Distinctive values of the case that a provider must never receive.
CUSTODY_RECORD = "CUSTODY-QZX-4471"
CRIME_REFERENCE = "CRIME-REF-88231"
PNC_ID = "2011/0099887Z"
TODAY = london_date(timezone.now())


def date_fields(prefix: str, day: date) -> dict[str, str]:
    return {
        f"{prefix}_day": str(day.day),
        f"{prefix}_month": str(day.month),
        f"{prefix}_year": str(day.year),
    }


def staff_of(provider: Provider) -> User:
    return factories.UserFactory(role=Role.PROVIDER_STAFF, provider=provider)


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


BIRTHDAYS = count()


def refer(
    programme: Programme,
    officer: User,
    *,
    given_name: str = "Alex",
    family_name: str = "",
    pnc_id: str = "",
) -> Referral:
    """A case taken through the officer's services to a new referral to `programme`.

    Each person has their own date of birth, so the eligibility check never takes one for
    another (it matches similar names with the same date of birth).
    """
    person = factories.PersonFactory(
        given_name=given_name,
        **({"family_name": family_name} if family_name else {}),
        date_of_birth=date(1980, 1, 1) + timedelta(days=41 * next(BIRTHDAYS)),
        pnc_id=pnc_id,
        email=f"{given_name.lower()}@example.org",
        access_needs="Step-free access, please",
        interpreter_language="Polish",
    )
    case = case_create(
        by=officer,
        person=person,
        custody_record_number=f"{CUSTODY_RECORD}-{person.pk}",
        offence_date=TODAY - timedelta(days=2),
        drugs=[
            DrugQuantity(drug=factories.drug("ketamine"), quantity=Decimal("0.5")),
            DrugQuantity(drug=factories.drug("cocaine"), quantity=Decimal("0.3")),
        ],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    Case.objects.filter(pk=case.pk).update(crime_reference=f"{CRIME_REFERENCE}-{person.pk}")
    eligibility_check(case=case, by=officer)
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    return referral_create(case=case, programme=programme, by=officer)


def book_in_past(referral: Referral, by: User, *, hours_ago: int = 2) -> Appointment:
    """Book through the service (which refuses the past), then move the clock on."""
    appointment = services.appointment_book(
        referral=referral, by=by, starts_at=timezone.now() + timedelta(days=1)
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=hours_ago)
    )
    appointment.refresh_from_db()
    return appointment


@pytest.fixture
def thames_policy(db) -> SchemePolicy:
    return factories.PolicyFactory(
        force=factories.force("TVP"),
        personal_use_thresholds={"ketamine": "1", "cocaine": "1", "cannabis": "28"},
    )


@pytest.fixture
def provider_a(db) -> Provider:
    return factories.ProviderFactory(name="Provider A")


@pytest.fixture
def provider_b(db) -> Provider:
    return factories.ProviderFactory(name="Provider B")


@pytest.fixture
def programme_a(provider_a: Provider) -> Programme:
    return factories.ProgrammeFactory(provider=provider_a, name="Awareness A")


@pytest.fixture
def programme_b(provider_b: Provider) -> Programme:
    return factories.ProgrammeFactory(provider=provider_b, name="Awareness B")


@pytest.fixture
def staff_a(provider_a: Provider) -> User:
    return staff_of(provider_a)


@pytest.fixture
def staff_b(provider_b: Provider) -> User:
    return staff_of(provider_b)


@pytest.fixture
def referral_a(programme_a: Programme, officer: User, thames_policy: SchemePolicy) -> Referral:
    return refer(programme_a, officer, given_name="Annika")


@pytest.fixture
def referral_b(programme_b: Programme, officer: User, thames_policy: SchemePolicy) -> Referral:
    return refer(programme_b, officer, given_name="Bartholomew", pnc_id=PNC_ID)


@pytest.fixture
def client_a(staff_a: User) -> Client:
    return signed_in(staff_a)


def snapshot() -> dict[str, object]:
    """What the provider pages can change, to prove a refused request changed nothing."""
    return {
        "referrals": list(Referral.objects.order_by("pk").values_list("pk", "status")),
        "cases": list(Case.objects.order_by("pk").values_list("pk", "status", "outcome")),
        "appointments": list(
            Appointment.objects.order_by("pk").values_list("pk", "starts_at", "status")
        ),
        "attendance": list(
            Attendance.objects.order_by("pk").values_list("pk", "outcome", "is_current")
        ),
        "sessions": GroupSession.objects.count(),
    }


def errors_of(response) -> str:
    page = response.content.decode()
    assert "There is a problem" in page, page
    return page


# Who may see what -------------------------------------------------------------------------


def test_provider_home_goes_to_the_inbox(client_a: Client) -> None:
    response = client_a.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/provider/"


def test_inbox_lists_only_the_providers_own_referrals(
    client_a: Client, referral_a: Referral, referral_b: Referral
) -> None:
    page = client_a.get("/provider/").content.decode()

    assert referral_a.reference in page
    assert "Annika" in page
    assert referral_b.reference not in page
    assert "Bartholomew" not in page


def test_inbox_search_never_finds_another_providers_referral(
    client_a: Client, referral_a: Referral, referral_b: Referral
) -> None:
    page = client_a.get("/provider/", {"q": referral_b.reference}).content.decode()

    assert "No referrals here match your search" in page
    assert "data-referral=" not in page and "Bartholomew" not in page


def side_b_urls(referral: Referral, appointment: Appointment, session: GroupSession):
    base = f"/provider/referrals/{referral.reference}"
    return [
        ("get", f"{base}/", {}),
        ("post", f"{base}/accept/", {}),
        ("get", f"{base}/decline/", {}),
        ("post", f"{base}/decline/", {"reason": "Full"}),
        ("get", f"{base}/appointments/new/", {}),
        (
            "post",
            f"{base}/appointments/new/",
            {**date_fields("date", TODAY + timedelta(days=3)), "time": "10:00", "kind": "session"},
        ),
        ("post", f"{base}/appointments/new/", {"group_session": str(session.pk)}),
        ("get", f"{base}/appointments/{appointment.pk}/reschedule/", {}),
        (
            "post",
            f"{base}/appointments/{appointment.pk}/reschedule/",
            {**date_fields("date", TODAY + timedelta(days=5)), "time": "11:00"},
        ),
        ("post", f"{base}/appointments/{appointment.pk}/cancel/", {"reason": "Ill"}),
        ("post", f"{base}/appointments/{appointment.pk}/attendance/", {"outcome": "attended"}),
        ("post", f"{base}/complete/", date_fields("completed_on", TODAY)),
        ("get", f"/provider/sessions/{session.pk}/", {}),
        ("post", f"/provider/sessions/{session.pk}/", {f"outcome_{appointment.pk}": "attended"}),
    ]


def test_another_providers_referral_and_session_are_404_everywhere_and_nothing_changes(
    client_a: Client, referral_b: Referral, staff_b: User
) -> None:
    services.referral_accept(referral=referral_b, by=staff_b)
    session = services.group_session_create(
        programme=referral_b.programme,
        by=staff_b,
        starts_at=timezone.now() + timedelta(days=2),
        ends_at=timezone.now() + timedelta(days=2, hours=3),
    )
    appointment = services.appointment_book(referral=referral_b, by=staff_b, group_session=session)
    before = snapshot()

    for method, url, data in side_b_urls(referral_b, appointment, session):
        response = getattr(client_a, method)(url, data)
        assert response.status_code == 404, (method, url)

    assert snapshot() == before


def test_appointment_of_another_provider_under_own_referral_is_404(
    client_a: Client, referral_a: Referral, staff_a: User, referral_b: Referral, staff_b: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)
    services.referral_accept(referral=referral_b, by=staff_b)
    theirs = book_in_past(referral_b, staff_b)
    before = snapshot()

    url = f"/provider/referrals/{referral_a.reference}/appointments/{theirs.pk}"
    assert client_a.post(f"{url}/attendance/", {"outcome": "attended"}).status_code == 404
    assert client_a.post(f"{url}/cancel/", {"reason": "x"}).status_code == 404

    assert snapshot() == before


@pytest.mark.parametrize("role", [Role.CUSTODY_OFFICER, Role.SUPERVISOR, Role.ANALYST])
def test_force_users_get_404_on_provider_pages(role: str, referral_a: Referral) -> None:
    client = signed_in(factories.UserFactory(role=role, force=factories.force("TVP")))

    for url in (
        "/provider/",
        f"/provider/referrals/{referral_a.reference}/",
        "/provider/sessions/",
        "/provider/sessions/new/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/provider/referrals/{referral_a.reference}/accept/").status_code == 404
    referral_a.refresh_from_db()
    assert referral_a.status == ReferralStatus.NEW


def test_signed_out_visitor_is_sent_to_sign_in(client: Client) -> None:
    response = client.get("/provider/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# Data minimisation -------------------------------------------------------------------------


def never_disclosed(referral: Referral) -> list[str]:
    """Offence facts of the referral's case that must never reach a provider's page."""
    case = referral.case
    decision = case.eligibility_decisions.get()
    values = [
        case.custody_record_number,
        case.crime_reference,
        case.reference,
        case.get_offence_type_display(),
        "Ketamine",
        "Cocaine",
        "offence",
    ]
    values += [reason["message"] for reason in decision.reasons]
    if case.person.pnc_id:
        values.append(case.person.pnc_id)
    return values


def test_provider_pages_never_contain_offence_custody_pnc_or_eligibility(
    referral_b: Referral, staff_b: User
) -> None:
    client = signed_in(staff_b)
    services.referral_accept(referral=referral_b, by=staff_b)
    appointment = book_in_past(referral_b, staff_b)
    services.attendance_record(appointment=appointment, by=staff_b, outcome="attended")
    base = f"/provider/referrals/{referral_b.reference}"
    pages = [
        client.get("/provider/", {"tab": "in_progress"}),
        client.get("/provider/", {"tab": "in_progress", "q": "Bartholomew"}),
        client.get(f"{base}/"),
        client.get(f"{base}/appointments/{appointment.pk}/attendance/"),
        client.get(f"{base}/complete/"),
        client.get(f"{base}/appointments/new/"),
    ]
    secrets = never_disclosed(referral_b)
    assert len(secrets) > 8

    for response in pages:
        assert response.status_code == 200
        page = response.content.decode()
        assert "Bartholomew" in page
        for secret in secrets:
            assert secret.lower() not in page.lower(), (response.request["PATH_INFO"], secret)


def test_referral_page_shows_what_the_programme_needs(
    client_a: Client, referral_a: Referral
) -> None:
    page = client_a.get(f"/provider/referrals/{referral_a.reference}/").content.decode()
    person = referral_a.case.person
    due = referral_a.first_appointment_due.astimezone(LONDON)

    for shown in (
        person.full_name,
        f"{person.date_of_birth.day} {person.date_of_birth:%B %Y}",
        person.phone,
        person.email,
        "Step-free access, please",
        "Polish",
        "English",
        referral_a.programme.name,
        f"{due:%A} {due.day} {due:%B %Y}",
        "0 of 1 required session attended",
        "Accept the referral",
    ):
        assert shown in page, shown


def test_referral_page_records_a_disclosure_in_the_audit(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    client_a.get(f"/provider/referrals/{referral_a.reference}/")

    event = AuditEvent.objects.get(user=staff_a, action="disclose")
    assert event.object_type == "programmes.referral"
    assert event.object_id == referral_a.reference
    assert event.person_id == referral_a.case.person_id


# The inbox ---------------------------------------------------------------------------------


def test_inbox_tabs_show_counts_and_the_nearest_deadline_first(
    client_a: Client, programme_a: Programme, officer: User, thames_policy: SchemePolicy
) -> None:
    later = refer(programme_a, officer, given_name="Later")
    sooner = refer(programme_a, officer, given_name="Sooner")
    overdue = refer(programme_a, officer, given_name="Overdue")
    now = timezone.now()
    Referral.objects.filter(pk=sooner.pk).update(first_appointment_due=now + timedelta(days=2))
    Referral.objects.filter(pk=overdue.pk).update(first_appointment_due=now - timedelta(days=1))

    page = client_a.get("/provider/").content.decode()

    assert page.index("Overdue") < page.index("Sooner") < page.index("Later")
    assert later.reference in page
    assert 'data-status="overdue"' in page
    assert 'data-status="due-soon"' in page
    assert 'data-tab="new"' in page
    new_tab = page[page.index('data-tab="new"') :]
    assert '<span class="moj-badge moj-badge--grey" data-count>3</span>' in new_tab[:200]


def test_inbox_search_finds_by_name_or_reference(
    client_a: Client, programme_a: Programme, officer: User, thames_policy: SchemePolicy
) -> None:
    wanted = refer(programme_a, officer, given_name="Gwenllian", family_name="Ap Rhys")
    other = refer(programme_a, officer, given_name="Zebedee", family_name="Okonkwo")

    by_name = client_a.get("/provider/", {"q": "gwenlian aprhys"}).content.decode()
    by_reference = client_a.get("/provider/", {"q": other.reference}).content.decode()

    assert wanted.reference in by_name and other.reference not in by_name
    assert "Zebedee" in by_reference and "Gwenllian" not in by_reference


def test_inbox_audits_one_disclosure_per_shown_referral(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    client_a.get("/provider/")

    (event,) = AuditEvent.objects.filter(user=staff_a, action="disclose")
    assert (event.object_type, event.object_id) == ("programmes.referral", referral_a.reference)
    assert event.person_id == referral_a.case.person_id


def test_inbox_query_count_does_not_grow_with_referrals(
    client_a: Client,
    programme_a: Programme,
    officer: User,
    thames_policy: SchemePolicy,
    django_assert_max_num_queries,
) -> None:
    refer(programme_a, officer)
    with django_assert_max_num_queries(12) as few:
        client_a.get("/provider/")
    for _ in range(4):
        refer(programme_a, officer)

    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client_a.get("/provider/").content.decode()

    assert page.count("data-referral=") == 5


# Accept, decline, book, move, cancel --------------------------------------------------------


def test_accept_then_book_then_attend_then_complete_closes_the_case_as_diverted(
    client_a: Client, referral_a: Referral
) -> None:
    base = f"/provider/referrals/{referral_a.reference}"
    assert client_a.post(f"{base}/accept/").status_code == 302
    tomorrow = TODAY + timedelta(days=1)

    response = client_a.post(
        f"{base}/appointments/new/",
        {**date_fields("date", tomorrow), "time": "10:00", "kind": "assessment", "mode": "online"},
    )

    assert response.status_code == 302
    appointment = referral_a.appointments.get()
    assert appointment.starts_at == datetime.combine(tomorrow, time(10), tzinfo=LONDON)
    assert appointment.kind == "assessment" and appointment.mode == "online"
    page = client_a.get(f"{base}/").content.decode()
    assert "10:00am" in page
    assert "Can be recorded once the appointment has started" in page

    # We move the clock: the appointment has now happened.
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=timezone.now() - timedelta(hours=1)
    )
    response = client_a.post(
        f"{base}/appointments/{appointment.pk}/attendance/", {"outcome": "attended"}
    )
    assert response.status_code == 302
    response = client_a.post(f"{base}/complete/", date_fields("completed_on", TODAY))
    assert response.status_code == 302

    referral_a.refresh_from_db()
    case = referral_a.case
    case.refresh_from_db()
    assert referral_a.status == ReferralStatus.COMPLETED
    assert referral_a.completed_on == TODAY
    assert (case.status, case.outcome) == (CaseStatus.CLOSED, CaseOutcome.DIVERTED)
    assert "Completed on" in client_a.get(f"{base}/").content.decode()


def test_booking_is_in_london_time_across_the_clock_change(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)
    summer = date(TODAY.year + 1, 7, 1)

    client_a.post(
        f"/provider/referrals/{referral_a.reference}/appointments/new/",
        {**date_fields("date", summer), "time": "2:30pm", "kind": "session", "mode": "in_person"},
    )

    starts = referral_a.appointments.get().starts_at
    assert starts == datetime.combine(summer, time(14, 30), tzinfo=LONDON)
    assert starts.astimezone(UTC).hour == 13  # British Summer Time is UTC+1


def test_decline_needs_a_reason_and_then_tells_the_force(
    client_a: Client, referral_a: Referral
) -> None:
    url = f"/provider/referrals/{referral_a.reference}/decline/"
    before = snapshot()

    page = errors_of(client_a.post(url, {"reason": "   "}))

    assert "Give the reason for declining" in page
    assert snapshot() == before
    response = client_a.post(url, {"reason": "No places until March"})
    assert response.status_code == 302
    referral_a.refresh_from_db()
    referral_a.case.refresh_from_db()
    assert referral_a.status == ReferralStatus.DECLINED
    assert referral_a.decline_reason == "No places until March"
    assert referral_a.case.status == CaseStatus.ACCEPTED  # the force can refer again


def test_accepting_twice_shows_the_error_on_the_page(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)

    response = client_a.post(f"/provider/referrals/{referral_a.reference}/accept/")

    assert response.status_code == 400
    assert "cannot become “accepted”" in errors_of(response)


def test_booking_in_the_past_is_refused_keeping_what_was_typed(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)
    before = snapshot()
    yesterday = TODAY - timedelta(days=1)

    response = client_a.post(
        f"/provider/referrals/{referral_a.reference}/appointments/new/",
        {
            **date_fields("date", yesterday),
            "time": "09:15",
            "kind": "session",
            "mode": "in_person",
            "location": "Room 4, Cowley Road",
        },
    )

    page = errors_of(response)
    assert "The appointment must start in the future" in page
    assert 'href="#id_date_day"' in page
    assert 'value="Room 4, Cowley Road"' in page and 'value="09:15"' in page
    assert snapshot() == before


def test_booking_with_a_bad_time_says_how_to_write_it(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)

    response = client_a.post(
        f"/provider/referrals/{referral_a.reference}/appointments/new/",
        {**date_fields("date", TODAY + timedelta(days=2)), "time": "25:99", "kind": "session"},
    )

    assert "Enter the time like 14:30 or 2:30pm" in errors_of(response)
    assert not Appointment.objects.exists()


def test_booking_on_a_group_session(client_a: Client, referral_a: Referral, staff_a: User) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)
    session = services.group_session_create(
        programme=referral_a.programme,
        by=staff_a,
        starts_at=timezone.now() + timedelta(days=3),
        ends_at=timezone.now() + timedelta(days=3, hours=3),
        location="Pathways Centre",
    )
    url = f"/provider/referrals/{referral_a.reference}/appointments/new/"
    assert "Pathways Centre (0 booked)" in client_a.get(url).content.decode()

    response = client_a.post(url, {"group_session": str(session.pk)})

    assert response.status_code == 302
    assert referral_a.appointments.get().group_session == session


def test_reschedule_and_cancel_a_booked_appointment(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)
    appointment = services.appointment_book(
        referral=referral_a, by=staff_a, starts_at=timezone.now() + timedelta(days=2)
    )
    base = f"/provider/referrals/{referral_a.reference}/appointments/{appointment.pk}"
    new_day = TODAY + timedelta(days=4)

    response = client_a.post(
        f"{base}/reschedule/",
        {**date_fields("date", new_day), "time": "16:45", "reason": "Clashes with work"},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.starts_at == datetime.combine(new_day, time(16, 45), tzinfo=LONDON)

    assert "Give the reason for cancelling" in errors_of(client_a.post(f"{base}/cancel/", {}))
    response = client_a.post(f"{base}/cancel/", {"reason": "The person moved away"})
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.CANCELLED


# Attendance --------------------------------------------------------------------------------


@pytest.fixture
def past_appointment(referral_a: Referral, staff_a: User) -> Appointment:
    services.referral_accept(referral=referral_a, by=staff_a)
    return book_in_past(referral_a, staff_a)


def attendance_url(appointment: Appointment) -> str:
    reference = appointment.referral.reference
    return f"/provider/referrals/{reference}/appointments/{appointment.pk}/attendance/"


def test_attendance_before_the_appointment_starts_is_refused(
    client_a: Client, referral_a: Referral, staff_a: User
) -> None:
    services.referral_accept(referral=referral_a, by=staff_a)
    appointment = services.appointment_book(
        referral=referral_a, by=staff_a, starts_at=timezone.now() + timedelta(days=1)
    )
    before = snapshot()

    page = errors_of(client_a.post(attendance_url(appointment), {"outcome": "attended"}))

    assert "The appointment has not started yet" in page
    assert snapshot() == before


def test_outcome_that_is_not_one_of_the_five_is_refused(
    client_a: Client, past_appointment: Appointment
) -> None:
    before = snapshot()

    page = errors_of(client_a.post(attendance_url(past_appointment), {"outcome": "asleep"}))

    assert (
        "Choose one of: attended, attended late, did not attend, cancelled by provider, "
        "excused absence" in page
    )
    assert snapshot() == before


def test_excused_absence_without_a_reason_is_refused(
    client_a: Client, past_appointment: Appointment
) -> None:
    before = snapshot()

    response = client_a.post(attendance_url(past_appointment), {"outcome": "excused"})

    page = errors_of(response)
    assert "Give the reason the absence is excused" in page
    assert 'href="#id_reason"' in page
    assert snapshot() == before


def test_correction_needs_a_reason_and_keeps_the_history_visible(
    client_a: Client, past_appointment: Appointment, staff_a: User
) -> None:
    services.attendance_record(appointment=past_appointment, by=staff_a, outcome="did_not_attend")
    url = attendance_url(past_appointment)
    before = snapshot()

    page = errors_of(client_a.post(url, {"outcome": "attended"}))
    assert "give a reason for the correction" in page
    assert snapshot() == before

    response = client_a.post(
        url, {"outcome": "attended", "correction_reason": "Signed in late on the sheet"}
    )
    assert response.status_code == 302

    rows = list(past_appointment.attendance.order_by("pk"))
    assert [(row.outcome, row.is_current) for row in rows] == [
        ("did_not_attend", False),
        ("attended", True),
    ]
    detail = client_a.get(f"/provider/referrals/{past_appointment.referral.reference}/")
    page = detail.content.decode()
    assert "Did not attend, recorded by Sam Tester" in page
    assert "because “Signed in late on the sheet”" in page


def test_completion_before_the_required_sessions_is_refused(
    client_a: Client, past_appointment: Appointment
) -> None:
    referral = past_appointment.referral
    before = snapshot()

    response = client_a.post(
        f"/provider/referrals/{referral.reference}/complete/",
        date_fields("completed_on", TODAY),
    )

    page = errors_of(response)
    assert "0 of the 1 required session attended" in page
    assert snapshot() == before


# Group sessions ----------------------------------------------------------------------------


@pytest.fixture
def past_session(
    programme_a: Programme, officer: User, thames_policy: SchemePolicy, staff_a: User
) -> tuple[GroupSession, list[Appointment]]:
    """A session that has started, with three people booked and nothing recorded yet."""
    session = services.group_session_create(
        programme=programme_a,
        by=staff_a,
        starts_at=timezone.now() + timedelta(days=1),
        ends_at=timezone.now() + timedelta(days=1, hours=3),
        location="Cowley Road",
    )
    bookings = []
    for name in ("Aled", "Bronwen", "Cai"):
        referral = refer(programme_a, officer, given_name=name)
        services.referral_accept(referral=referral, by=staff_a)
        bookings.append(
            services.appointment_book(referral=referral, by=staff_a, group_session=session)
        )
    # We move the clock: the session started two hours ago.
    started = timezone.now() - timedelta(hours=2)
    GroupSession.objects.filter(pk=session.pk).update(
        starts_at=started, ends_at=started + timedelta(hours=3)
    )
    Appointment.objects.filter(group_session=session).update(starts_at=started)
    return session, bookings


def test_group_session_records_everyone_in_one_post(
    client_a: Client, past_session: tuple[GroupSession, list[Appointment]]
) -> None:
    session, (aled, bronwen, cai) = past_session
    url = f"/provider/sessions/{session.pk}/"
    page = client_a.get(url).content.decode()
    assert "Aled" in page and "Bronwen" in page and "Cai" in page

    response = client_a.post(
        url,
        {
            f"outcome_{aled.pk}": "attended",
            f"outcome_{bronwen.pk}": "excused",
            f"reason_{bronwen.pk}": "Hospital appointment",
            f"outcome_{cai.pk}": "did_not_attend",
        },
    )

    assert response.status_code == 302
    current = dict(
        Attendance.objects.filter(is_current=True).values_list("appointment_id", "outcome")
    )
    assert current == {aled.pk: "attended", bronwen.pk: "excused", cai.pk: "did_not_attend"}
    aled.referral.refresh_from_db()
    assert aled.referral.status == ReferralStatus.IN_PROGRESS


def test_group_session_error_in_one_row_saves_nothing(
    client_a: Client, past_session: tuple[GroupSession, list[Appointment]]
) -> None:
    session, (aled, bronwen, cai) = past_session
    before = snapshot()

    response = client_a.post(
        f"/provider/sessions/{session.pk}/",
        {
            f"outcome_{aled.pk}": "attended",
            f"outcome_{bronwen.pk}": "excused",
            f"outcome_{cai.pk}": "late",
        },
    )

    page = errors_of(response)
    assert f'href="#row-{bronwen.pk}"' in page
    assert "Bronwen Testperson" in page and "Give the reason the absence is excused" in page
    assert "Nothing was saved" in page
    assert snapshot() == before
    # What was chosen is still chosen.
    assert f'name="outcome_{cai.pk}" type="radio" value="late" checked' in page


def test_group_session_before_it_starts_lists_who_is_booked(
    client_a: Client, programme_a: Programme, staff_a: User
) -> None:
    session = services.group_session_create(
        programme=programme_a,
        by=staff_a,
        starts_at=timezone.now() + timedelta(days=3),
        ends_at=timezone.now() + timedelta(days=3, hours=2),
    )

    page = client_a.get(f"/provider/sessions/{session.pk}/").content.decode()

    assert "Nobody is booked on this session yet" in page
    assert "Save attendance" not in page


def test_schedule_a_group_session_in_london_time(
    client_a: Client, programme_a: Programme, provider_b: Provider
) -> None:
    theirs = factories.ProgrammeFactory(provider=provider_b, name="Not yours")
    day = TODAY + timedelta(days=7)
    page = client_a.get("/provider/sessions/new/").content.decode()
    assert programme_a.name in page and theirs.name not in page

    response = client_a.post(
        "/provider/sessions/new/",
        {
            "programme": str(programme_a.pk),
            **date_fields("date", day),
            "start_time": "10:00",
            "end_time": "1:30pm",
            "location": "Cowley Road",
        },
    )

    assert response.status_code == 302
    session = GroupSession.objects.get()
    assert session.starts_at == datetime.combine(day, time(10), tzinfo=LONDON)
    assert session.ends_at == datetime.combine(day, time(13, 30), tzinfo=LONDON)
    listing = client_a.get("/provider/sessions/").content.decode()
    assert "10:00am to 1:30pm" in listing


def test_schedule_a_session_refuses_the_past_and_another_providers_programme(
    client_a: Client, programme_a: Programme, provider_b: Provider
) -> None:
    theirs = factories.ProgrammeFactory(provider=provider_b, name="Not yours")
    past = {
        "programme": str(programme_a.pk),
        **date_fields("date", TODAY - timedelta(days=1)),
        "start_time": "10:00",
        "end_time": "11:00",
    }

    assert "The session must start in the future" in errors_of(
        client_a.post("/provider/sessions/new/", past)
    )
    refused = client_a.post("/provider/sessions/new/", {**past, "programme": str(theirs.pk)})
    assert "Choose one of your programmes" in errors_of(refused)
    assert not GroupSession.objects.exists()
