"""The custody officer's journey through the pages, with the Django test client."""

from __future__ import annotations

from datetime import UTC, date, timedelta

import pytest

from audit.models import AuditEvent
from cases.models import Case, CaseStatus, Person
from programmes.models import Referral
from tests import factories

pytestmark = pytest.mark.django_db

RECENT = date.today() - timedelta(days=3)


def date_fields(prefix: str, day: date) -> dict[str, str]:
    return {
        f"{prefix}_day": str(day.day),
        f"{prefix}_month": str(day.month),
        f"{prefix}_year": str(day.year),
    }


def offence_form(**overrides) -> dict[str, str]:
    data = {
        "custody_record_number": "CR/26/0001",
        "offence_type": "simple_possession",
        "setting": "none",
        "admitted_offence": "True",
        "previous_drug_conviction_or_caution": "False",
        "resides_in_force_area": "True",
        "drugs-TOTAL_FORMS": "3",
        "drugs-INITIAL_FORMS": "0",
        "drugs-MIN_NUM_FORMS": "0",
        "drugs-MAX_NUM_FORMS": "6",
        "drugs-0-drug": str(factories.drug("cannabis").pk),
        "drugs-0-quantity": "3.5",
        **date_fields("offence_date", RECENT),
    }
    data.update(overrides)
    return data


def test_officer_takes_a_new_person_from_logging_to_referral(client, officer, policy, programme):
    client.force_login(officer)
    search = {
        "given_name": "Siân",
        "family_name": "Ní Bhriain-O'Neill",
        **date_fields("date_of_birth", date(1999, 2, 3)),
    }
    response = client.post("/cases/new/", search)
    assert "No matches" in response.content.decode()

    response = client.get("/cases/new/person/")
    assert 'value="Siân"' in response.content.decode()
    response = client.post(
        "/cases/new/person/",
        {
            **search,
            "phone": "07700 900456",
            "contact_preference": "sms",
            "preferred_language": "cy",
            "ethnicity": "white_british",
            "sex": "female",
        },
    )
    assert response.status_code == 302
    person = Person.objects.get()
    assert person.family_name == "Ní Bhriain-O'Neill"

    response = client.post(response["Location"], offence_form())
    assert response.status_code == 302, response.content.decode()
    case = Case.objects.get()
    assert response["Location"] == f"/cases/{case.reference}/"

    client.post(f"/cases/{case.reference}/eligibility/")
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Eligible for diversion" in page
    assert "3.5 g of Cannabis (herbal) is within the personal-use amount of 28 g" in page

    response = client.post(
        f"/cases/{case.reference}/offer/", {"response": "accepted", "consent_given": "on"}
    )
    assert response.status_code == 302
    response = client.post(f"/cases/{case.reference}/refer/", {"programme": str(programme.pk)})
    assert response.status_code == 302
    referral = Referral.objects.get()
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert referral.reference in page and programme.name in page
    assert "First appointment by" in page
    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED


def test_search_finds_existing_person_despite_accents_and_spacing(client, officer):
    factories.PersonFactory(
        given_name="Ciarán", family_name="Mac Donald", date_of_birth=date(1990, 1, 2)
    )
    client.force_login(officer)
    response = client.post(
        "/cases/new/",
        {
            "given_name": "ciaran",
            "family_name": "macdonald",
            **date_fields("date_of_birth", date(1990, 1, 2)),
        },
    )
    page = response.content.decode()
    assert "Possible matches" in page and "Ciarán Mac Donald" in page


def test_offence_form_errors_keep_what_was_typed_and_save_nothing(client, officer, policy):
    person = factories.PersonFactory(created_by=officer)
    client.force_login(officer)
    from cases.views import _person_token

    url = f"/cases/new/{_person_token(person)}/"
    future = date.today() + timedelta(days=2)
    response = client.post(
        url, offence_form(**date_fields("offence_date", future), **{"drugs-0-quantity": "0"})
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "Quantity must be more than 0" in page
    assert 'value="CR/26/0001"' in page
    assert Case.objects.count() == 0

    response = client.post(url, offence_form(**date_fields("offence_date", future)))
    assert "The offence date must be today or in the past." in response.content.decode()
    assert Case.objects.count() == 0


def test_duplicate_custody_record_is_refused_on_the_page(client, officer, policy):
    existing = factories.CaseFactory(custody_record_number="CR/26/0001", created_by=officer)
    client.force_login(officer)
    from cases.views import _person_token

    response = client.post(f"/cases/new/{_person_token(existing.person)}/", offence_form())
    assert (
        "Custody record CR/26/0001 already has a case in this force." in response.content.decode()
    )
    assert Case.objects.count() == 1


def test_case_of_another_force_is_not_found(client, other_force_officer):
    case = factories.CaseFactory()
    client.force_login(other_force_officer)
    for url in (
        f"/cases/{case.reference}/",
        f"/cases/{case.reference}/offer/",
        f"/cases/{case.reference}/refer/",
    ):
        assert client.get(url).status_code == 404
    assert client.post(f"/cases/{case.reference}/eligibility/").status_code == 404
    assert case.reference not in client.get("/cases/").content.decode()
    case.refresh_from_db()
    assert case.status == CaseStatus.LOGGED


def test_a_person_of_another_force_is_not_found_even_with_a_valid_token(
    client, officer, other_force_officer
):
    from cases.views import _person_token

    theirs = factories.CaseFactory(created_by=other_force_officer, force=other_force_officer.force)
    client.force_login(officer)
    page = client.get(f"/cases/new/{_person_token(theirs.person)}/")
    assert page.status_code == 404
    assert theirs.person.family_name not in page.content.decode()


def test_forged_person_token_is_not_found(client, officer):
    client.force_login(officer)
    assert client.get("/cases/new/1:forged:token/").status_code == 404


def test_case_list_query_count_does_not_grow_with_cases(
    client, officer, django_assert_max_num_queries
):
    client.force_login(officer)
    factories.CaseFactory.create_batch(3, created_by=officer)
    with django_assert_max_num_queries(12) as small:
        client.get("/cases/")
    factories.CaseFactory.create_batch(20, created_by=officer)
    with django_assert_max_num_queries(len(small.captured_queries)):
        page = client.get("/cases/").content.decode()
    assert "23 cases" in page


def test_viewing_a_case_is_audited(client, officer):
    case = factories.CaseFactory(created_by=officer)
    client.force_login(officer)
    client.get(f"/cases/{case.reference}/")
    event = AuditEvent.objects.get(
        action="view", object_id=case.reference, path=f"/cases/{case.reference}/"
    )
    assert event.user == officer and event.person_id == case.person_id


@pytest.mark.parametrize(
    ("status", "page"), [("eligible", "offer"), ("accepted", "refer")], ids=["offer", "refer"]
)
def test_the_offer_and_referral_forms_audit_showing_the_person(client, officer, status, page):
    case = factories.CaseFactory(created_by=officer, status=status)
    client.force_login(officer)

    response = client.get(f"/cases/{case.reference}/{page}/")

    assert response.status_code == 200
    assert case.person.family_name in response.content.decode()
    event = AuditEvent.objects.get(action="view", path=f"/cases/{case.reference}/{page}/")
    assert (event.user, event.object_id, event.person_id) == (
        officer,
        case.reference,
        case.person_id,
    )


def test_provider_staff_cannot_open_case_pages(client):
    provider = factories.ProviderFactory()
    user = factories.UserFactory(role="provider_staff", force=None, provider=provider)
    case = factories.CaseFactory()
    client.force_login(user)
    assert client.get("/cases/").status_code == 404
    assert client.get(f"/cases/{case.reference}/").status_code == 404


def _referred_case(officer, programme):
    """A Thames Valley case referred to `programme`, through the services."""
    from decimal import Decimal

    from cases import services
    from programmes.services import referral_create

    person = services.person_create(
        by=officer, given_name="Dylan", family_name="Thomas", date_of_birth=date(1990, 5, 5)
    )
    case = services.case_create(
        by=officer,
        person=person,
        custody_record_number="CR/26/7777",
        offence_date=RECENT,
        drugs=[services.DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("2"))],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    services.eligibility_check(case=case, by=officer)
    services.offer_record(case=case, by=officer, response="accepted", consent_given=True)
    return referral_create(case=case, programme=programme, by=officer)


def test_force_sees_a_completed_referral_closed_as_diverted(client, officer, policy, programme):
    from datetime import datetime

    from programmes import services as provider_services
    from programmes.models import Appointment

    referral = _referred_case(officer, programme)
    staff = factories.UserFactory(role="provider_staff", force=None, provider=programme.provider)
    provider_services.referral_accept(referral=referral, by=staff)
    appointment = provider_services.appointment_book(
        referral=referral, by=staff, starts_at=datetime.now(UTC) + timedelta(days=1)
    )
    # Move the clock: the session took place yesterday.
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=datetime.now(UTC) - timedelta(hours=2)
    )
    provider_services.attendance_record(appointment=appointment, by=staff, outcome="attended")
    provider_services.referral_complete(referral=referral, by=staff, completed_on=date.today())

    client.force_login(officer)
    url = f"/cases/{referral.case.reference}/"
    asked = client.get(url).content.decode()
    assert "Why do you need to open this closed case?" in asked
    assert "Dylan" not in asked  # nothing about the person until a reason is given
    client.post(url, {"reason": "CPS file request"})
    page = client.get(url).content.decode()
    assert 'data-outcome="diverted"' in page
    assert "Home Office crime outcome 22" in page
    assert ": attended" in page
    listing = client.get("/cases/").content.decode()
    assert "Closed: Diverted" in listing


def test_force_sees_why_a_provider_declined_and_can_refer_again(client, officer, policy, programme):
    from programmes import services as provider_services

    referral = _referred_case(officer, programme)
    staff = factories.UserFactory(role="provider_staff", force=None, provider=programme.provider)
    provider_services.referral_decline(referral=referral, by=staff, reason="No places until May")

    client.force_login(officer)
    page = client.get(f"/cases/{referral.case.reference}/").content.decode()
    assert "No places until May" in page
    assert "Refer to a programme" in page


def test_opening_a_closed_case_records_the_reason_in_the_audit_trail(client, officer):
    case = factories.CaseFactory(created_by=officer)
    Case.objects.filter(pk=case.pk).update(
        status="closed", outcome="standard_process", closed_at="2026-01-01T12:00:00Z"
    )
    client.force_login(officer)
    url = f"/cases/{case.reference}/"

    refused = client.post(url, {"reason": ""})
    assert "Give the reason for opening this closed case" in refused.content.decode()
    assert not AuditEvent.objects.filter(action="view", object_id=case.reference).exists()

    client.post(url, {"reason": "Complaint from the person"})
    assert case.person.family_name in client.get(url).content.decode()
    event = AuditEvent.objects.get(action="view", object_id=case.reference)
    assert event.reason == "Complaint from the person" and event.user == officer


def test_a_supervisor_overrides_eligibility_with_a_reason_and_an_officer_cannot(
    client, officer, policy
):
    from accounts.models import Role
    from cases import services

    supervisor = factories.UserFactory(role=Role.SUPERVISOR, force=factories.force("TVP"))
    case = factories.CaseFactory(created_by=officer, previous_drug_conviction_or_caution=True)
    services.eligibility_check(case=case, by=officer)
    url = f"/cases/{case.reference}/override/"

    client.force_login(officer)
    assert "Override this decision" not in client.get(f"/cases/{case.reference}/").content.decode()
    client.post(url, {"reason": "I think so"})
    case.refresh_from_db()
    assert case.status == CaseStatus.INELIGIBLE

    client.force_login(supervisor)
    client.post(url, {"reason": ""})
    case.refresh_from_db()
    assert case.status == CaseStatus.INELIGIBLE
    client.post(url, {"reason": "The caution was for a different person (PNC error)"})
    case.refresh_from_db()
    assert case.status == CaseStatus.ELIGIBLE
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "the rules found the person not eligible" in page
    assert "PNC error" in page
    event = AuditEvent.objects.get(object_type="cases.eligibilitydecision", action="change")
    assert event.user == supervisor and "PNC error" in event.reason
