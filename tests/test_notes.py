"""Notes and concerns on a referral, on both sides' pages and over the API: who may read each
note, what the force is told of a provider's concern, where the concern shows, bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from accounts.models import Role, User
from audit.models import AuditEvent
from escalations.models import Escalation
from escalations.sweep import sweep_deadlines
from programmes import rules
from programmes.models import NOTE_MAX_LENGTH, Notification, Referral, ReferralNote
from programmes.services import note_add
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db

LATER = datetime.now(UTC) + timedelta(days=400)


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
        role=Role.PROVIDER_STAFF,
        provider=referral.programme.provider,
        first_name="Jo",
        last_name="Okafor",
    )


@pytest.fixture
def supervisor(db) -> User:
    return factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))


@pytest.fixture
def other_staff(db) -> User:
    """Staff of another provider, who must never read or write on this referral."""
    return factories.UserFactory(
        role=Role.PROVIDER_STAFF, provider=factories.ProviderFactory(name="Elsewhere Trust")
    )


# Who may write and read what: the rule, without a database -------------------------------


def test_the_force_writes_for_itself_or_both_and_the_provider_for_both_with_concerns() -> None:
    assert rules.note_rights(force=True, provider=False) == rules.NoteRights(
        visibilities=("force", "shared"), concern=False
    )
    assert rules.note_rights(force=False, provider=True) == rules.NoteRights(
        visibilities=("shared",), concern=True
    )
    assert not rules.note_rights(force=False, provider=False).may_write


def test_the_provider_reads_only_shared_notes_and_nobody_else_reads_any() -> None:
    assert rules.note_readable("force", force=True, provider=False)
    assert rules.note_readable("shared", force=False, provider=True)
    assert not rules.note_readable("force", force=False, provider=True)
    assert not rules.note_readable("shared", force=False, provider=False)


# Concerns ----------------------------------------------------------------------------------


def test_a_providers_concern_reaches_the_officer_and_supervisors_and_marks_the_case(
    referral, staff, officer, supervisor
) -> None:
    response = signed_in(staff).post(
        f"/provider/referrals/{referral.reference}/notes/",
        {"body": "Came to the session intoxicated, left early.", "concern_category": "behaviour"},
    )

    assert response.status_code == 302
    note = ReferralNote.objects.get(referral=referral)
    assert note.is_concern and note.visibility == "shared"
    told = set(
        Notification.objects.filter(kind="concern_raised", referral=referral).values_list(
            "recipient", flat=True
        )
    )
    assert told == {officer.email, supervisor.email}
    message = Notification.objects.filter(kind="concern_raised").first()
    assert referral.reference in message.body
    assert referral.case.person.family_name not in message.body  # no name leaves by email
    case_list = signed_in(officer).get("/cases/").content.decode()
    assert "Concern raised" in case_list
    case_page = signed_in(officer).get(f"/cases/{referral.case.reference}/").content.decode()
    assert "Came to the session intoxicated, left early." in case_page
    assert "concern raised (behaviour in a session)" in case_page  # in the timeline too
    assert AuditEvent.objects.filter(
        action="create", object_type="programmes.referralnote", person_id=referral.case.person_id
    ).exists()


def test_a_concern_sits_beside_the_breach_on_the_escalation_page(
    referral, staff, supervisor
) -> None:
    from programmes.services import referral_accept

    referral_accept(referral=referral, by=staff)
    note_add(
        referral=referral,
        by=staff,
        body="Moved to a night shift: cannot make daytime sessions.",
        concern_category="circumstances",
    )
    (flagged,) = sweep_deadlines(now=LATER)
    escalation = Escalation.objects.get(pk=flagged.escalation_id)

    page = signed_in(supervisor).get(f"/escalations/{escalation.pk}/").content.decode()

    concerns = page[page.index('id="concerns"') : page.index('id="deadlines"')]
    assert "Moved to a night shift" in concerns
    assert "Concern: Change of circumstances" in concerns


def test_an_escalation_without_concerns_says_so(referral, staff, supervisor) -> None:
    (flagged,) = sweep_deadlines(now=LATER)

    page = signed_in(supervisor).get(f"/escalations/{flagged.escalation_id}/").content.decode()

    assert "The provider has raised no concerns." in page


def test_the_force_cannot_raise_a_concern(referral, officer) -> None:
    response = signed_in(officer).post(
        f"/api/v1/referrals/{referral.reference}/notes/",
        {"body": "Worried", "concern_category": "safeguarding"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "Only the programme's provider raises concerns" in response.json()["concern_category"][0]
    assert not ReferralNote.objects.exists()


# Who reads what ------------------------------------------------------------------------------


def test_a_force_only_note_is_never_shown_to_the_provider(referral, officer, staff) -> None:
    response = signed_in(officer).post(
        f"/cases/referrals/{referral.reference}/notes/",
        {"body": "Intelligence suggests links to local supply.", "visibility": "force"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/cases/{referral.case.reference}/#notes"
    note_add(referral=referral, by=officer, body="Please call him after 5pm.", visibility="shared")

    provider = signed_in(staff)
    page = provider.get(f"/provider/referrals/{referral.reference}/").content.decode()
    api = provider.get(f"/api/v1/referrals/{referral.reference}/notes/").json()

    assert "Please call him after 5pm." in page
    assert "links to local supply" not in page
    assert [note["body"] for note in api] == ["Please call him after 5pm."]
    force_page = signed_in(officer).get(f"/cases/{referral.case.reference}/").content.decode()
    assert "links to local supply" in force_page and "force only" in force_page


def test_a_provider_never_reads_another_providers_referral_notes(
    referral, staff, other_staff
) -> None:
    note_add(referral=referral, by=staff, body="Attended and engaged well.")
    client = signed_in(other_staff)

    assert client.get(f"/api/v1/referrals/{referral.reference}/notes/").status_code == 404
    assert client.get(f"/provider/referrals/{referral.reference}/notes/").status_code == 404


def test_reading_notes_over_the_api_is_audited(referral, staff, officer) -> None:
    note = note_add(referral=referral, by=staff, body="Booked for Tuesday.")

    response = signed_in(officer).get(f"/api/v1/referrals/{referral.reference}/notes/")

    assert response.status_code == 200
    assert response.json()[0]["written_for_provider"] == referral.programme.provider.name
    assert AuditEvent.objects.filter(
        user=officer,
        action="view",
        object_type="programmes.referralnote",
        object_id=str(note.pk),
        person_id=referral.case.person_id,
    ).exists()


# Bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "Enter the note"),
        ("   \n\t ", "Enter the note"),
        ("x" * (NOTE_MAX_LENGTH + 1), "The note must be 2,000 characters or fewer"),
    ],
    ids=["empty", "whitespace", "too-long"],
)
def test_an_empty_or_overlong_note_is_refused_clearly_on_the_page_and_api(
    referral, staff, body: str, message: str
) -> None:
    client = signed_in(staff)

    page = client.post(f"/provider/referrals/{referral.reference}/notes/", {"body": body})
    api = client.post(
        f"/api/v1/referrals/{referral.reference}/notes/",
        {"body": body},
        content_type="application/json",
    )

    assert page.status_code == 400
    assert message in page.content.decode()
    assert api.status_code == 400
    assert api.json()["body"][0].startswith(message)
    assert not ReferralNote.objects.exists()


def test_a_provider_posting_on_another_providers_referral_gets_404_and_nothing_changes(
    referral, other_staff
) -> None:
    client = signed_in(other_staff)
    before = AuditEvent.objects.exclude(action__in=["view", "disclose", "search"]).count()

    page = client.post(
        f"/provider/referrals/{referral.reference}/notes/",
        {"body": "Not ours", "concern_category": "other"},
    )
    api = client.post(
        f"/api/v1/referrals/{referral.reference}/notes/",
        {"body": "Not ours"},
        content_type="application/json",
    )

    assert (page.status_code, api.status_code) == (404, 404)
    assert not ReferralNote.objects.exists()
    assert not Notification.objects.exists()
    assert AuditEvent.objects.exclude(action__in=["view", "disclose", "search"]).count() == before


def test_a_concern_of_an_unknown_kind_is_refused(referral, staff) -> None:
    response = signed_in(staff).post(
        f"/api/v1/referrals/{referral.reference}/notes/",
        {"body": "Hmm", "concern_category": "gossip"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "Choose the kind of concern" in response.json()["concern_category"][0]


def test_retention_erases_the_text_of_notes_and_reports_and_keeps_the_facts(db) -> None:
    from programmes.models import ProgrammeReport
    from retention.anonymise import ERASED_TEXT, anonymise_expired
    from tests.test_retention import RETENTION_DAYS, closed_case, make_person

    factories.PolicyFactory(force=factories.force("TVP"), retention_days=RETENTION_DAYS)
    case = closed_case(make_person(), days_ago=RETENTION_DAYS + 1)
    referral = case.referrals.get()
    staff = factories.UserFactory(role=Role.PROVIDER_STAFF, provider=referral.programme.provider)
    ReferralNote.objects.create(
        referral=referral,
        body="Siân's brother says she moved to Cardiff",
        visibility="shared",
        concern_category="circumstances",
        written_by=staff,
    )
    ProgrammeReport.objects.create(
        referral=referral,
        sessions_attended=1,
        sessions_required=1,
        outcome="completed",
        summary="Siân engaged well",
        onward_referral="treatment",
        onward_detail="Siân's GP, Dr Jones",
        filed_by=staff,
    )

    anonymise_expired()

    note = ReferralNote.objects.get()
    assert (note.body, note.concern_category) == (ERASED_TEXT, "circumstances")
    report = ProgrammeReport.objects.get()
    assert (report.summary, report.onward_detail) == (ERASED_TEXT, ERASED_TEXT)
    assert (report.outcome, report.onward_referral, report.sessions_attended) == (
        "completed",
        "treatment",
        1,
    )
