"""Subject access requests: an administrator finds a person in any force and produces a copy of
everything held about them, as a document and as a file, and the disclosure is audited. Also
the administrator's service home, where they land after signing in."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from escalations.sweep import sweep_deadlines
from programmes.notifications import OutboxMessage, outbox_queue
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db

FIND = "/data-protection/subject-access/"
DYLAN = {
    "given_name": "dylan",
    "family_name": "THOMAS",
    "date_of_birth_day": "5",
    "date_of_birth_month": "5",
    "date_of_birth_year": "1990",
}


@pytest.fixture
def administrator(db):
    return factories.UserFactory(
        role=Role.ADMINISTRATOR, force=None, is_staff=True, first_name="Ada", last_name="Jones"
    )


@pytest.fixture
def dylan(client, officer, policy, programme):
    """Dylan Thomas, referred by a Thames Valley officer, who read his case, then flagged for
    missing his first appointment; with his mobile number on record."""
    referral = _referred_case(officer, programme)
    person = referral.case.person
    person.phone = "07700 900456"
    person.save()
    client.force_login(officer)
    assert client.get(f"/cases/{referral.case.reference}/").status_code == 200
    client.logout()
    sweep_deadlines(now=datetime.now(UTC) + timedelta(days=400))
    return person


def produce(client, person, copy: str, reference: str = "DP-2026-0142"):
    return client.post(f"{FIND}{person.pk}/", {"reference": reference, "copy": copy})


def test_an_administrator_finds_a_person_of_any_force_and_the_search_is_audited(
    client, administrator, dylan
):
    client.force_login(administrator)
    page = client.post(FIND, DYLAN).content.decode()

    assert "Dylan Thomas" in page and f"{FIND}{dylan.pk}/" in page
    search = AuditEvent.objects.filter(user=administrator, action="search").get()
    assert search.changes["found"] == [dylan.pk]
    assert search.reason == "Subject access request"
    assert "THOMAS" not in json.dumps(search.changes)  # what was searched by, not the values


def test_a_search_that_finds_nobody_says_so(client, administrator, dylan):
    client.force_login(administrator)
    page = client.post(FIND, {**DYLAN, "date_of_birth_year": "1991"}).content.decode()
    assert "No matches" in page and f"{FIND}{dylan.pk}/" not in page


def test_the_document_holds_everything_about_the_person_and_who_saw_it(
    client, administrator, officer, dylan
):
    client.force_login(administrator)
    page = produce(client, dylan, "document").content.decode()

    case = dylan.cases.get()
    referral = case.referrals.get()
    assert "Everything held about Dylan Thomas" in page
    assert "Subject access request DP-2026-0142" in page
    for held in (
        "07700 900456",  # contact details
        case.reference,
        "CR/26/7777",  # the custody record
        "Eligibility decisions",
        "Accepted",  # the offer's answer
        referral.reference,
        referral.escalations.get().get_rule_display(),  # the escalation
        officer.get_full_name(),  # who read the case, in the audit section
    ):
        assert held in page, held
    assert "name_key" not in page and "Name key" not in page


def test_the_file_is_the_same_record_machine_readable(client, administrator, dylan):
    client.force_login(administrator)
    response = produce(client, dylan, "file")

    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith(
        f'attachment; filename="subject-access-{dylan.pk}-'
    )
    data = json.loads(response.content)
    assert data["subject_access_request"] == "DP-2026-0142"
    sections = {section["title"]: section["records"] for section in data["sections"]}
    assert sections["Personal details"][0]["phone"] == "07700 900456"
    assert sections["Personal details"][0]["date_of_birth"] == "05/05/1990"
    assert [case["reference"] for case in sections["Cases"]] == [dylan.cases.get().reference]
    assert len(sections["Escalations to a supervisor"]) == 1
    assert sections["Who has seen or changed this record"]
    assert "Police National Computer" in data["not_included"]


def test_each_copy_is_audited_as_a_disclosure_with_the_reference(client, administrator, dylan):
    client.force_login(administrator)
    produce(client, dylan, "document")
    produce(client, dylan, "file", reference="DP-2026-0143")

    disclosures = AuditEvent.objects.filter(user=administrator, action="disclose").order_by("id")
    assert [(row.person_id, row.reason, row.changes["copy"]) for row in disclosures] == [
        (dylan.pk, "Subject access request DP-2026-0142", "document"),
        (dylan.pk, "Subject access request DP-2026-0143", "file"),
    ]


def test_a_copy_needs_a_reference_and_a_form(client, administrator, dylan):
    client.force_login(administrator)
    response = produce(client, dylan, "", reference="   ")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter the reference of the subject access request" in page
    assert "Choose the form of the copy" in page
    assert not AuditEvent.objects.filter(action="disclose").exists()


def test_an_anonymised_person_has_nothing_left_to_give(client, administrator, dylan):
    dylan.anonymised_at = timezone.now()
    dylan.save()
    client.force_login(administrator)
    assert client.get(f"{FIND}{dylan.pk}/").status_code == 404
    assert produce(client, dylan, "document").status_code == 404


def test_messages_sent_to_the_person_are_in_the_copy(client, administrator, dylan):
    message = OutboxMessage(
        kind="reminder",
        channel="sms",
        recipient=dylan.phone,
        subject="",
        body="Your first appointment is due",
        dedupe_key=f"test-{dylan.pk}",
        referral_id=dylan.cases.get().referrals.get().pk,
    )
    assert outbox_queue([message], now=timezone.now()) == 1
    client.force_login(administrator)
    page = produce(client, dylan, "document").content.decode()
    assert "Your first appointment is due" in page


def test_the_administrator_lands_on_the_service_home(client, administrator):
    client.force_login(administrator)
    page = client.get("/").content.decode()

    for link in (
        "/audit/",
        FIND,
        "/admin/accounts/user/",
        "/admin/cases/force/",
        "/admin/cases/schemepolicy/",
    ):
        assert f'href="{link}"' in page, link
    # The admin's "View site" leads to the service home, not back into the admin.
    assert 'href="/"' in client.get("/admin/").content.decode()


def test_an_administrator_without_admin_access_is_told_who_can_change_users(client):
    reader = factories.UserFactory(role=Role.ADMINISTRATOR, force=None, is_staff=False)
    client.force_login(reader)
    page = client.get("/").content.decode()
    assert "/audit/" in page and "/admin/accounts/user/" not in page
    assert "Ask another administrator" in page


def test_the_person_found_must_match_the_date_of_birth(client, administrator, dylan):
    other = factories.PersonFactory(
        given_name="Dylan", family_name="Thomas", date_of_birth=date(1990, 5, 6)
    )
    client.force_login(administrator)
    page = client.post(FIND, DYLAN).content.decode()
    assert f"{FIND}{dylan.pk}/" in page and f"{FIND}{other.pk}/" not in page


def test_corrections_of_their_details_are_in_the_copy(client, administrator, officer, dylan):
    from cases.services import person_correct

    person_correct(person=dylan, by=officer, reason="Mistyped", phone="07700 900789")
    client.force_login(administrator)
    page = produce(client, dylan, "document").content.decode()
    assert "Corrections to their details" in page
    # As held: the corrected number in its stored form (cases/person_details.py).
    assert "Before: 07700 900456" in page and "After: +447700900789" in page
