"""Officers correct a person's or a case's details after saving them: the history keeps who,
when, why and before/after; facts a decision rested on send the case back for a new check, and
cannot change once it is referred; two officers at once do not overwrite each other."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from base.clock import london_date
from cases import services
from cases.models import Case, CaseStatus, Correction, Person
from tests import factories
from tests.test_case_pages import _referred_case

pytestmark = pytest.mark.django_db

TODAY = london_date(timezone.now())
OFFENCE = TODAY - timedelta(days=3)


def checked_case(officer, *, offer: bool = False) -> Case:
    """A Thames Valley case checked eligible (and offered, accepted, if `offer`)."""
    person = services.person_create(
        by=officer,
        given_name="Olivia",
        family_name="Bennett",
        date_of_birth=date(1994, 2, 3),
        phone="07700 900123",
    )
    case = services.case_create(
        by=officer,
        person=person,
        custody_record_number="CR/26/1001",
        offence_date=OFFENCE,
        drugs=[services.DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("2"))],
        admitted_offence=True,
        previous_drug_conviction_or_caution=False,
    )
    services.eligibility_check(case=case, by=officer)
    if offer:
        services.offer_record(case=case, by=officer, response="accepted", consent_given=True)
    return Case.objects.get(pk=case.pk)


def person_form(person: Person, **changes) -> dict:
    """The person's correction form as the page fills it, with `changes` typed over it."""
    born = changes.pop("date_of_birth", person.date_of_birth)
    return {
        "given_name": person.given_name,
        "family_name": person.family_name,
        "date_of_birth_day": born.day,
        "date_of_birth_month": born.month,
        "date_of_birth_year": born.year,
        "pnc_id": person.pnc_id,
        "phone": person.phone,
        "email": person.email,
        "contact_preference": person.contact_preference,
        "address": person.address,
        "postcode": person.postcode,
        "preferred_language": person.preferred_language,
        "access_needs": person.access_needs,
        "interpreter_language": person.interpreter_language,
        "ethnicity": person.ethnicity,
        "sex": person.sex,
        "version": services.version_of(person),
        **changes,
    }


def case_form(case: Case, **changes) -> dict:
    offence = changes.pop("offence_date", case.offence_date)
    drug = case.drugs.get()
    return {
        "custody_record_number": case.custody_record_number,
        "crime_reference": case.crime_reference,
        "offence_date_day": offence.day,
        "offence_date_month": offence.month,
        "offence_date_year": offence.year,
        "offence_type": case.offence_type,
        "setting": case.setting,
        "admitted_offence": case.admitted_offence,
        "previous_drug_conviction_or_caution": case.previous_drug_conviction_or_caution,
        "resides_in_force_area": case.resides_in_force_area,
        "drugs-TOTAL_FORMS": 3,
        "drugs-INITIAL_FORMS": 1,
        "drugs-0-drug": drug.drug_id,
        "drugs-0-quantity": changes.pop("quantity", drug.quantity),
        "version": services.version_of(case),
        **changes,
    }


def test_an_officer_corrects_a_mistyped_mobile_number(client, officer, policy):
    case = checked_case(officer)
    client.force_login(officer)
    url = f"/cases/{case.reference}/correct-person/"
    assert "07700 900123" in client.get(url).content.decode()  # the form shows what is saved

    response = client.post(
        url, person_form(case.person, phone="07700 900456", reason="Typed 123 for 456")
    )

    assert response.status_code == 302
    case.person.refresh_from_db()
    assert case.person.phone == "+447700900456"
    page = client.get(f"/cases/{case.reference}/").content.decode()
    assert "Corrected: mobile phone number" in page
    assert "07700 900123 → 07700 900456" in page and "Typed 123 for 456" in page
    # A contact detail is not a fact of the decision: the case stays eligible.
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ELIGIBLE
    row = AuditEvent.objects.filter(action="change", person_id=case.person_id).latest("id")
    assert row.changes["fields"] == ["phone"] and row.reason == "Typed 123 for 456"
    assert "900456" not in str(row.changes)  # the audit log outlives personal data


def test_a_corrected_date_of_birth_sends_the_case_back_for_a_new_check(client, officer, policy):
    case = checked_case(officer, offer=True)
    client.force_login(officer)

    response = client.post(
        f"/cases/{case.reference}/correct-person/",
        person_form(case.person, date_of_birth=date(1994, 3, 2), reason="Day and month swapped"),
        follow=True,
    )

    page = response.content.decode()
    assert f"Eligibility must be checked again for {case.reference}" in page
    case.refresh_from_db()
    assert case.status == CaseStatus.LOGGED
    assert case.status_changes.latest("changed_at").reason == (
        "Date of birth corrected: eligibility must be checked again"
    )
    assert "Out of date: details were corrected after this decision" in page
    # The referral waits for the new check: only the check is offered.
    assert f'action="/cases/{case.reference}/eligibility/"' in page
    assert f'href="/cases/{case.reference}/refer/"' not in page
    correction = Correction.objects.get()
    assert correction.rechecks == [case.reference]
    assert correction.changes == [
        {
            "field": "date_of_birth",
            "label": "Date of birth",
            "before": "3 February 1994",
            "after": "2 March 1994",
        }
    ]
    services.eligibility_check(case=case, by=officer)
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ELIGIBLE


def test_correcting_the_drugs_after_the_check_sends_the_case_back(client, officer, policy):
    case = checked_case(officer)
    client.force_login(officer)

    response = client.post(
        f"/cases/{case.reference}/correct/",
        case_form(case, quantity="3", reason="Weighed again at the station"),
    )

    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == CaseStatus.LOGGED
    name = case.drugs.get().drug.name
    assert str(case.drugs.get()) == f"3 g {name}"
    assert Correction.objects.get().changes[0]["before"] == f"2 g {name}"


def test_a_referred_case_keeps_its_facts_but_takes_a_new_crime_reference(
    client, officer, policy, programme
):
    case = _referred_case(officer, programme).case
    client.force_login(officer)
    url = f"/cases/{case.reference}/correct/"

    refused = client.post(
        url, case_form(case, offence_date=OFFENCE - timedelta(days=1), reason="x")
    )
    assert "facts its eligibility was decided on can no longer change" in refused.content.decode()
    assert Case.objects.get(pk=case.pk).offence_date == case.offence_date

    allowed = client.post(url, case_form(case, crime_reference="43/2026/0001", reason="Issued"))
    assert allowed.status_code == 302
    case.refresh_from_db()
    assert case.crime_reference == "43/2026/0001" and case.status == CaseStatus.REFERRED


def test_a_date_of_birth_cannot_change_while_a_case_is_with_a_programme(
    client, officer, policy, programme
):
    case = _referred_case(officer, programme).case
    client.force_login(officer)
    response = client.post(
        f"/cases/{case.reference}/correct-person/",
        person_form(case.person, date_of_birth=date(1990, 5, 6), reason="Wrong day"),
    )
    assert f"Case {case.reference}: The case has been referred" in response.content.decode()
    assert Person.objects.get(pk=case.person_id).date_of_birth == date(1990, 5, 5)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"offence_date": TODAY + timedelta(days=1)}, "The offence date must be today or in"),
        ({"offence_date": date(1990, 1, 1)}, "before the person&#x27;s date of birth"),
        ({"quantity": "0"}, "Quantity must be more than 0"),
        ({"custody_record_number": "CR/26/2002"}, "already has a case in this force"),
        ({"reason": "   "}, "Say why the details are being corrected"),
        ({}, "Nothing was changed"),
    ],
    ids=["future", "before-birth", "zero", "duplicate-custody", "no-reason", "no-change"],
)
def test_a_correction_that_makes_the_case_invalid_changes_nothing(
    client, officer, policy, changes, message
):
    case = checked_case(officer)
    factories.CaseFactory(custody_record_number="CR/26/2002", created_by=officer)
    before = Case.objects.values().get(pk=case.pk)
    client.force_login(officer)

    response = client.post(
        f"/cases/{case.reference}/correct/", case_form(case, **{"reason": "Fix", **changes})
    )

    page = response.content.decode()
    assert response.status_code == 200 and "There is a problem" in page
    assert message in page
    assert Case.objects.values().get(pk=case.pk) == before
    assert not Correction.objects.exists()


def test_a_date_of_birth_after_the_offence_is_refused(client, officer, policy):
    case = checked_case(officer)
    client.force_login(officer)
    response = client.post(
        f"/cases/{case.reference}/correct-person/",
        person_form(case.person, date_of_birth=TODAY - timedelta(days=1), reason="Typo"),
    )
    assert "date of birth is after the date of an offence" in response.content.decode()
    assert Person.objects.get(pk=case.person_id).date_of_birth == date(1994, 2, 3)


def test_two_officers_correcting_at_once_do_not_overwrite_each_other(client, officer, policy):
    case = checked_case(officer)
    colleague = factories.UserFactory(role="custody_officer", force=officer.force)
    shown_to_both = person_form(case.person)
    client.force_login(colleague)
    first = {**shown_to_both, "phone": "07700 900111", "reason": "Called them"}
    assert client.post(f"/cases/{case.reference}/correct-person/", first).status_code == 302

    client.force_login(officer)
    second = {**shown_to_both, "email": "olivia@example.com", "reason": "Gave an email"}
    response = client.post(f"/cases/{case.reference}/correct-person/", second)

    page = response.content.decode()
    assert "Someone else changed these details while you were correcting them" in page
    assert 'value="07700 900111"' in page  # shown the new values
    person = Person.objects.get(pk=case.person_id)
    assert (person.phone, person.email) == ("+447700900111", "")


def test_a_closed_case_cannot_be_corrected(client, officer, policy):
    case = checked_case(officer)
    Case.objects.filter(pk=case.pk).update(
        status=CaseStatus.CLOSED, outcome="standard_process", closed_at=timezone.now()
    )
    client.force_login(officer)
    response = client.get(f"/cases/{case.reference}/correct/", follow=True)
    assert "The case is closed, so its details can no longer be corrected" in (
        response.content.decode()
    )


def test_another_forces_officer_cannot_correct(client, officer, other_force_officer, policy):
    case = checked_case(officer)
    client.force_login(other_force_officer)
    url = f"/cases/{case.reference}/correct-person/"
    response = client.post(url, person_form(case.person, phone="07700 900999", reason="x"))
    assert response.status_code == 404
    assert Person.objects.get(pk=case.person_id).phone == "+447700900123"
    with pytest.raises(services.DomainError):
        services.person_correct(
            person=case.person, by=other_force_officer, reason="x", phone="07700 900999"
        )


def test_retention_erases_what_a_correction_said(officer, policy):
    case = checked_case(officer)
    services.person_correct(person=case.person, by=officer, reason="Mistyped", phone="07700 900456")
    Case.objects.filter(pk=case.pk).update(
        status=CaseStatus.CLOSED,
        outcome="standard_process",
        closed_at=timezone.now() - timedelta(days=5000),
    )
    call_command("anonymise_expired", verbosity=0)

    correction = Correction.objects.get()
    assert correction.changes == [{"field": "phone", "label": "Mobile phone number"}]
    assert "Mistyped" not in correction.reason


# The API ------------------------------------------------------------------------------------


def api(client, officer):
    client.force_login(officer)
    return lambda url, body: client.patch(url, body, content_type="application/json")


def test_the_api_corrects_a_case_and_a_person(client, officer, policy, programme):
    case = _referred_case(officer, programme).case
    patch = api(client, officer)

    corrected = patch(
        f"/api/v1/cases/{case.reference}/",
        {"crime_reference": "43/2026/0001", "reason": "Issued", "version": ""},
    )
    assert corrected.status_code == 200
    assert corrected.json()["crime_reference"] == "43/2026/0001"

    person = patch(
        f"/api/v1/cases/{case.reference}/person/",
        {"phone": "07700 900456", "reason": "Mistyped"},
    )
    assert person.status_code == 200 and person.json()["phone"] == "+447700900456"
    assert Person.objects.get(pk=case.person_id).phone == "+447700900456"


def test_the_api_refuses_what_the_pages_refuse(client, officer, policy, programme):
    case = _referred_case(officer, programme).case
    patch = api(client, officer)
    url = f"/api/v1/cases/{case.reference}/"

    facts = patch(url, {"offence_date": str(OFFENCE - timedelta(days=1)), "reason": "x"})
    assert facts.status_code == 409 and "can no longer change" in facts.json()["detail"]

    no_reason = patch(url, {"crime_reference": "43/1"})
    assert no_reason.status_code == 400
    assert no_reason.json()["reason"] == ["Say why the details are being corrected"]

    old = services.version_of(case)
    assert patch(url, {"crime_reference": "43/2", "reason": "x", "version": old}).status_code == 200
    stale = patch(url, {"crime_reference": "43/3", "reason": "x", "version": old})
    assert stale.status_code == 409 and stale.json()["code"] == "record_changed"
    assert Case.objects.get(pk=case.pk).crime_reference == "43/2"
