"""The provider's end-of-programme report: filed once a referral completes or ends early, read
by the force on the case page, in the timeline, over the API and in the supervisor's case
summary; refused on a referral still open."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditEvent
from escalations.models import Escalation
from escalations.services import escalation_decide
from escalations.sweep import sweep_deadlines
from programmes import services
from programmes.models import Appointment, ProgrammeReport, Referral
from tests import factories
from tests.test_case_pages import _referred_case
from tests.test_notes import LATER

pytestmark = pytest.mark.django_db

SUMMARY = "Took a full part and set goals for cutting down; keen to keep going."


def signed_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def referral(officer, policy, programme) -> Referral:
    return _referred_case(officer, programme)


@pytest.fixture
def staff(referral) -> User:
    return factories.UserFactory(
        role=Role.PROVIDER_STAFF, provider=referral.programme.provider, first_name="Jo"
    )


@pytest.fixture
def supervisor(db) -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


def complete(referral: Referral, staff: User) -> Referral:
    """Accept, attend the one required session, and record completion, through the services."""
    services.referral_accept(referral=referral, by=staff)
    appointment = services.appointment_book(
        referral=referral, by=staff, starts_at=datetime.now(UTC) + timedelta(days=1)
    )
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=datetime.now(UTC) - timedelta(hours=2)
    )
    services.attendance_record(appointment=appointment, by=staff, outcome="attended")
    return services.referral_complete(referral=referral, by=staff, completed_on=date.today())


def test_the_provider_files_a_report_that_the_force_reads_on_the_case(
    referral, staff, officer
) -> None:
    complete(referral, staff)
    client = signed_in(staff)
    page = client.get(f"/provider/referrals/{referral.reference}/").content.decode()
    assert "File the end-of-programme report" in page

    response = client.post(
        f"/provider/referrals/{referral.reference}/report/",
        {
            "outcome": "completed",
            "summary": SUMMARY,
            "onward_referral": "treatment",
            "onward_detail": "Community drug service, 9 December",
        },
    )

    assert response.status_code == 302
    report = ProgrammeReport.objects.get(referral=referral)
    assert (report.sessions_attended, report.sessions_required) == (1, 1)
    again = client.get(f"/provider/referrals/{referral.reference}/").content.decode()
    assert "File the end-of-programme report" not in again
    assert SUMMARY in again
    force = signed_in(officer)
    case_url = f"/cases/{referral.case.reference}/"
    force.post(case_url, {"reason": "Read the provider's report"})  # a closed case asks why
    case_page = force.get(case_url).content.decode()
    assert SUMMARY in case_page
    assert "Drug or alcohol treatment: Community drug service, 9 December" in case_page
    assert "end-of-programme report" in case_page  # the timeline's entry
    assert "1 of 1 sessions attended" in case_page
    api = force.get(f"/api/v1/referrals/{referral.reference}/").json()
    assert api["report"]["summary"] == SUMMARY
    assert AuditEvent.objects.filter(
        action="create", object_type="programmes.programmereport", user=staff
    ).exists()


def test_a_report_on_an_open_referral_is_refused(referral, staff) -> None:
    services.referral_accept(referral=referral, by=staff)
    client = signed_in(staff)

    page = client.post(
        f"/provider/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": SUMMARY},
        follow=True,
    )
    api = client.post(
        f"/api/v1/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": SUMMARY},
        content_type="application/json",
    )

    assert "filed once the referral completes or ends" in page.content.decode()
    assert api.status_code == 409
    assert "is accepted: the end-of-programme report is filed once" in api.json()["detail"]
    assert not ProgrammeReport.objects.exists()


def test_a_report_is_filed_once(referral, staff) -> None:
    complete(referral, staff)
    services.programme_report_file(
        referral=referral, by=staff, outcome="completed", summary=SUMMARY
    )

    response = signed_in(staff).post(
        f"/api/v1/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": "Again"},
        content_type="application/json",
    )

    assert response.status_code == 409
    assert "filed already" in response.json()["detail"]
    assert ProgrammeReport.objects.get().summary == SUMMARY


@pytest.mark.parametrize(
    ("summary", "message"),
    [("", "Enter the summary for the force"), ("  ", "Enter the summary for the force")],
)
def test_an_empty_summary_is_refused(referral, staff, summary: str, message: str) -> None:
    complete(referral, staff)
    client = signed_in(staff)

    page = client.post(
        f"/provider/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": summary},
    )
    api = client.post(
        f"/api/v1/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": summary},
        content_type="application/json",
    )

    assert page.status_code == 400
    assert message in page.content.decode()
    assert api.status_code == 400
    assert api.json()["summary"][0].startswith(message)
    assert not ProgrammeReport.objects.exists()


def test_a_completed_referral_cannot_be_reported_as_not_engaging(referral, staff) -> None:
    complete(referral, staff)

    response = signed_in(staff).post(
        f"/api/v1/referrals/{referral.reference}/report/",
        {"outcome": "did_not_engage", "summary": SUMMARY},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["outcome"] == ["Choose the outcome: completed the programme."]


def test_an_ended_referrals_report_is_in_the_supervisors_case_summary(
    referral, staff, supervisor
) -> None:
    services.referral_accept(referral=referral, by=staff)
    (flagged,) = sweep_deadlines(now=LATER)
    escalation = Escalation.objects.get(pk=flagged.escalation_id)
    escalation_decide(
        escalation=escalation, by=supervisor, decision="prosecute", rationale="Never came"
    )

    response = signed_in(staff).post(
        f"/api/v1/referrals/{referral.reference}/report/",
        {
            "outcome": "did_not_engage",
            "summary": "Three calls and two letters, no answer.",
            "onward_referral": "none",
        },
        content_type="application/json",
    )

    assert response.status_code == 200, response.json()
    assert response.json()["report"]["sessions_attended"] == 0
    summary = signed_in(supervisor).get(f"/escalations/{escalation.pk}/summary/")
    text = summary.content.decode()
    assert "Three calls and two letters, no answer." in text
    assert "Did not engage" in text


def test_another_provider_cannot_file_a_report(referral, staff) -> None:
    complete(referral, staff)
    outsider = factories.UserFactory(role=Role.PROVIDER_STAFF, provider=factories.ProviderFactory())

    page = signed_in(outsider).post(
        f"/provider/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": SUMMARY},
    )
    api = signed_in(outsider).post(
        f"/api/v1/referrals/{referral.reference}/report/",
        {"outcome": "completed", "summary": SUMMARY},
        content_type="application/json",
    )

    assert (page.status_code, api.status_code) == (404, 404)
    assert not ProgrammeReport.objects.exists()
