"""Case services: bad input refused with nothing saved, legal transitions with history and audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import User
from audit.models import AuditEvent
from base.clock import add_working_days, end_of_day, london_date
from base.errors import DomainError, IllegalTransition
from cases.models import (
    Case,
    CaseDrug,
    CaseOutcome,
    CaseStatus,
    CaseStatusChange,
    EligibilityDecision,
    Offer,
    Person,
    SchemePolicy,
)
from cases.services import (
    DrugQuantity,
    case_close_ineligible,
    case_create,
    eligibility_check,
    offer_record,
    person_create,
)
from programmes.models import Programme, Referral
from programmes.services import referral_create
from tests import factories

COUNTED = (Person, Case, CaseDrug, CaseStatusChange, EligibilityDecision, Offer, Referral)


def today() -> date:
    """Today in Europe/London, as the services see it."""
    return london_date(timezone.now())


def counts() -> dict[str, int]:
    """How many rows each table that a case service writes holds."""
    tally = {model.__name__: model.objects.count() for model in COUNTED}
    tally["AuditEvent"] = AuditEvent.objects.count()
    return tally


def new_person(officer: User, **fields: object) -> Person:
    """A person added by `officer` through the service."""
    values = {"given_name": "Siân", "family_name": "Llŷr", "date_of_birth": date(1994, 3, 12)}
    return person_create(by=officer, **{**values, **fields})


def new_case(officer: User, person: Person | None = None, **fields: object) -> Case:
    """A simple-possession case of 5 g of cannabis, logged by `officer` three days ago."""
    values: dict[str, object] = {
        "custody_record_number": "CR-0001",
        "offence_date": today() - timedelta(days=3),
        "drugs": [DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("5"))],
        "admitted_offence": True,
        "previous_drug_conviction_or_caution": False,
    }
    values.update(fields)
    return case_create(by=officer, person=person or new_person(officer), **values)


def accepted_case(officer: User) -> Case:
    """A case checked eligible whose offer the person accepted with consent."""
    case = new_case(officer)
    eligibility_check(case=case, by=officer)
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    case.refresh_from_db()
    return case


# --- Bad input --------------------------------------------------------------------------------


def test_offence_date_in_the_future_is_refused(officer: User) -> None:
    person = new_person(officer)
    before = counts()

    with pytest.raises(DomainError, match="offence date must be today or in the past") as error:
        new_case(officer, person, offence_date=today() + timedelta(days=1))

    assert error.value.field == "offence_date"
    assert counts() == before


@pytest.mark.parametrize("quantity", ["0", "-1", "-0.001"])
def test_zero_or_negative_quantity_is_refused(officer: User, quantity: str) -> None:
    person = new_person(officer)
    before = counts()

    with pytest.raises(DomainError, match="must be more than 0") as error:
        new_case(
            officer,
            person,
            drugs=[DrugQuantity(drug=factories.drug("cocaine"), quantity=Decimal(quantity))],
        )

    assert error.value.field == "drugs"
    assert counts() == before


def test_case_without_drugs_is_refused(officer: User) -> None:
    person = new_person(officer)
    before = counts()

    with pytest.raises(DomainError, match="at least one drug"):
        new_case(officer, person, drugs=[])

    assert counts() == before


def test_same_drug_listed_twice_is_refused(officer: User) -> None:
    person = new_person(officer)
    cannabis = factories.drug("cannabis")
    before = counts()

    with pytest.raises(DomainError, match="listed twice"):
        new_case(
            officer,
            person,
            drugs=[
                DrugQuantity(drug=cannabis, quantity=Decimal("2")),
                DrugQuantity(drug=cannabis, quantity=Decimal("3")),
            ],
        )

    assert counts() == before


def test_duplicate_custody_record_in_the_same_force_is_refused(officer: User) -> None:
    person = new_person(officer)
    new_case(officer, person, custody_record_number="CR-0001")
    before = counts()

    with pytest.raises(DomainError, match="Custody record CR-0001 already has a case") as error:
        new_case(officer, person, custody_record_number=" cr-0001 ")

    assert error.value.field == "custody_record_number"
    assert counts() == before


def test_same_custody_record_in_another_force_is_allowed(
    officer: User, other_force_officer: User
) -> None:
    new_case(officer, custody_record_number="CR-0001")
    person = new_person(other_force_officer, given_name="Ciarán", family_name="Ó Briain")

    durham = new_case(other_force_officer, person, custody_record_number="CR-0001")

    assert durham.force.code == "DUR"
    assert Case.objects.filter(custody_record_number="CR-0001").count() == 2


def test_date_of_birth_in_the_future_is_refused(officer: User) -> None:
    before = counts()

    with pytest.raises(DomainError, match="Date of birth must be in the past") as error:
        new_person(officer, date_of_birth=today() + timedelta(days=1))

    assert error.value.field == "date_of_birth"
    assert counts() == before


def test_date_of_birth_more_than_120_years_ago_is_refused(officer: User) -> None:
    before = counts()

    with pytest.raises(DomainError, match="within the last 120 years"):
        new_person(officer, date_of_birth=date(today().year - 121, 1, 1))

    assert counts() == before


def test_offence_before_the_date_of_birth_is_refused(officer: User) -> None:
    person = new_person(officer, date_of_birth=today() - timedelta(days=1))
    before = counts()

    with pytest.raises(DomainError, match="before the person's date of birth"):
        new_case(officer, person, offence_date=today() - timedelta(days=2))

    assert counts() == before


def test_second_person_with_the_same_pnc_id_is_refused(officer: User) -> None:
    new_person(officer, pnc_id="2019/0123456A")
    before = counts()

    with pytest.raises(DomainError, match="already exists") as error:
        new_person(officer, given_name="Rhys", pnc_id=" 2019/0123456a")

    assert error.value.field == "pnc_id"
    assert counts() == before


def test_referral_to_a_programme_not_serving_the_force_is_refused(
    officer: User, policy: SchemePolicy
) -> None:
    case = accepted_case(officer)
    durham_only = factories.ProgrammeFactory(forces_served=[factories.force("DUR")])
    before = counts()

    with pytest.raises(DomainError, match="does not take referrals from Thames Valley Police"):
        referral_create(case=case, programme=durham_only, by=officer)

    assert counts() == before
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED


def test_referral_to_an_inactive_programme_is_refused(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = accepted_case(officer)
    programme.is_active = False
    programme.save()
    before = counts()

    with pytest.raises(DomainError, match="does not take referrals"):
        referral_create(case=case, programme=programme, by=officer)

    assert counts() == before


def test_other_force_cannot_refer_the_case(
    officer: User, other_force_officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = accepted_case(officer)
    before = counts()

    with pytest.raises(DomainError, match="Only the case's force"):
        referral_create(case=case, programme=programme, by=other_force_officer)

    assert counts() == before


def test_accepting_without_consent_is_refused(officer: User, policy: SchemePolicy) -> None:
    case = new_case(officer)
    eligibility_check(case=case, by=officer)
    before = counts()

    with pytest.raises(DomainError, match="must consent") as error:
        offer_record(case=case, by=officer, response="accepted", consent_given=False)

    assert error.value.field == "consent_given"
    assert counts() == before
    case.refresh_from_db()
    assert case.status == CaseStatus.ELIGIBLE


def test_eligibility_check_without_a_policy_is_refused(officer: User) -> None:
    case = new_case(officer)
    before = counts()

    with pytest.raises(DomainError, match="has no scheme policy yet"):
        eligibility_check(case=case, by=officer)

    assert counts() == before


# --- Illegal transitions ----------------------------------------------------------------------


def assert_unchanged(case: Case, status: str, before: dict[str, int]) -> None:
    """The case kept its status and no table gained a row."""
    case.refresh_from_db()
    assert case.status == status
    assert counts() == before


def test_offer_on_a_logged_case_is_an_illegal_transition(officer: User) -> None:
    case = new_case(officer)
    before = counts()

    with pytest.raises(IllegalTransition, match="only be made to an eligible person"):
        offer_record(case=case, by=officer, response="accepted", consent_given=True)

    assert_unchanged(case, CaseStatus.LOGGED, before)


def test_referral_before_acceptance_is_an_illegal_transition(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = new_case(officer)
    eligibility_check(case=case, by=officer)
    before = counts()

    with pytest.raises(IllegalTransition, match="only a case whose offer was accepted"):
        referral_create(case=case, programme=programme, by=officer)

    assert_unchanged(case, CaseStatus.ELIGIBLE, before)


def test_eligibility_check_after_referral_is_an_illegal_transition(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = accepted_case(officer)
    referral_create(case=case, programme=programme, by=officer)
    before = counts()

    with pytest.raises(IllegalTransition, match="only be checked before the offer"):
        eligibility_check(case=case, by=officer)

    assert_unchanged(case, CaseStatus.REFERRED, before)


def test_closing_an_eligible_case_as_ineligible_is_an_illegal_transition(
    officer: User, policy: SchemePolicy
) -> None:
    case = new_case(officer)
    eligibility_check(case=case, by=officer)
    before = counts()

    with pytest.raises(IllegalTransition):
        case_close_ineligible(case=case, by=officer)

    assert_unchanged(case, CaseStatus.ELIGIBLE, before)


def test_second_offer_on_an_accepted_case_is_an_illegal_transition(
    officer: User, policy: SchemePolicy
) -> None:
    case = accepted_case(officer)
    before = counts()

    with pytest.raises(IllegalTransition):
        offer_record(case=case, by=officer, response="declined", consent_given=False)

    assert_unchanged(case, CaseStatus.ACCEPTED, before)


def test_illegal_transition_is_a_domain_error_with_its_own_code(officer: User) -> None:
    case = new_case(officer)

    with pytest.raises(DomainError) as error:
        offer_record(case=case, by=officer, response="pending", consent_given=False)

    assert error.value.code == "illegal_transition"


# --- The happy path ---------------------------------------------------------------------------


def test_happy_path_writes_a_history_row_per_transition_and_an_audit_row_per_write(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    audit_before = AuditEvent.objects.count()

    person = new_person(officer)
    assert AuditEvent.objects.count() == audit_before + 1
    case = new_case(officer, person)
    assert AuditEvent.objects.count() == audit_before + 2
    eligibility_check(case=case, by=officer)
    assert AuditEvent.objects.count() == audit_before + 4
    offer_record(case=case, by=officer, response="accepted", consent_given=True)
    assert AuditEvent.objects.count() == audit_before + 7
    referral = referral_create(case=case, programme=programme, by=officer)
    assert AuditEvent.objects.count() == audit_before + 9

    case.refresh_from_db()
    assert case.status == CaseStatus.REFERRED
    history = list(case.status_changes.values_list("from_status", "to_status", "changed_by"))
    assert history == [
        ("", CaseStatus.LOGGED, officer.pk),
        (CaseStatus.LOGGED, CaseStatus.ELIGIBLE, officer.pk),
        (CaseStatus.ELIGIBLE, CaseStatus.OFFERED, officer.pk),
        (CaseStatus.OFFERED, CaseStatus.ACCEPTED, officer.pk),
        (CaseStatus.ACCEPTED, CaseStatus.REFERRED, officer.pk),
    ]
    audit = AuditEvent.objects.filter(user=officer).order_by("id")
    assert list(audit.values_list("action", "object_type")) == [
        ("create", "cases.person"),
        ("create", "cases.case"),
        ("create", "cases.eligibilitydecision"),
        ("change", "cases.case"),
        ("change", "cases.case"),
        ("create", "cases.offer"),
        ("change", "cases.case"),
        ("create", "programmes.referral"),
        ("change", "cases.case"),
    ]
    assert set(audit.values_list("person_id", flat=True)) == {person.pk}
    assert referral.status_changes.count() == 1
    assert case.offers.get().consent_given is True


def test_audit_rows_do_not_copy_names_into_the_reason(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = accepted_case(officer)
    referral_create(case=case, programme=programme, by=officer)

    for event in AuditEvent.objects.filter(object_type="cases.case"):
        assert "Siân" not in event.reason
        assert "Siân" not in str(event.changes)


def test_offer_declined_closes_the_case_for_the_standard_process(
    officer: User, policy: SchemePolicy
) -> None:
    case = new_case(officer)
    eligibility_check(case=case, by=officer)

    offer_record(case=case, by=officer, response="declined", consent_given=False)

    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.outcome == CaseOutcome.STANDARD_PROCESS
    assert case.closed_at is not None
    assert case.home_office_outcome is None


def test_offer_left_pending_can_be_answered_later(officer: User, policy: SchemePolicy) -> None:
    case = new_case(officer)
    eligibility_check(case=case, by=officer)

    first = offer_record(case=case, by=officer, response="pending", consent_given=False)
    answered = offer_record(case=case, by=officer, response="accepted", consent_given=True)

    assert answered.pk == first.pk
    case.refresh_from_db()
    assert case.status == CaseStatus.ACCEPTED
    assert list(case.status_changes.values_list("to_status", flat=True)) == [
        CaseStatus.LOGGED,
        CaseStatus.ELIGIBLE,
        CaseStatus.OFFERED,
        CaseStatus.ACCEPTED,
    ]


def test_ineligible_case_is_closed_for_the_standard_process(
    officer: User, policy: SchemePolicy
) -> None:
    case = new_case(
        officer,
        drugs=[DrugQuantity(drug=factories.drug("cannabis"), quantity=Decimal("50"))],
    )

    decision = eligibility_check(case=case, by=officer)
    case_close_ineligible(case=case, by=officer)

    assert decision.eligible is False
    case.refresh_from_db()
    assert case.status == CaseStatus.CLOSED
    assert case.outcome == CaseOutcome.STANDARD_PROCESS


def test_eligibility_decision_records_inputs_reasons_and_history(
    officer: User, policy: SchemePolicy
) -> None:
    case = new_case(officer)

    decision = eligibility_check(case=case, by=officer)

    assert decision.eligible is True
    assert decision.policy == policy
    assert decision.inputs["drugs"] == [
        {
            "code": "cannabis",
            "name": "Cannabis (herbal)",
            "class": "B",
            "quantity": "5.000",
            "unit": "g",
        }
    ]
    assert {reason["rule"] for reason in decision.reasons} >= {"age", "quantity"}
    assert decision.history == []


def test_earlier_diversion_in_another_force_makes_the_person_ineligible(
    officer: User, other_force_officer: User, policy: SchemePolicy
) -> None:
    factories.PolicyFactory(force=factories.force("DUR"))
    durham_programme = factories.ProgrammeFactory(forces_served=[factories.force("DUR")])
    durham_person = new_person(other_force_officer)
    earlier = new_case(
        other_force_officer, durham_person, offence_date=today() - timedelta(days=60)
    )
    eligibility_check(case=earlier, by=other_force_officer)
    offer_record(case=earlier, by=other_force_officer, response="accepted", consent_given=True)
    referral_create(case=earlier, programme=durham_programme, by=other_force_officer)

    case = new_case(officer, new_person(officer, given_name="Sian", family_name="Llyr"))
    decision = eligibility_check(case=case, by=officer)

    assert decision.eligible is False
    assert decision.history[0]["force"] == "Durham Constabulary"
    assert decision.history[0]["reference"] == ""
    assert decision.history[0]["matched_by"] == "name and date of birth"


# --- Policy versions and deadlines ------------------------------------------------------------


def test_policy_change_is_a_new_version_and_earlier_decisions_keep_theirs(
    officer: User, policy: SchemePolicy
) -> None:
    case = new_case(officer)
    first = eligibility_check(case=case, by=officer)
    stricter = factories.PolicyFactory(
        force=policy.force,
        version=policy.version + 1,
        personal_use_thresholds={"cannabis": "4"},
    )

    second = eligibility_check(case=case, by=officer)

    first.refresh_from_db()
    policy.refresh_from_db()
    assert policy.force.current_policy() == stricter
    assert first.policy == policy and first.eligible is True
    assert policy.personal_use_thresholds["cannabis"] == "28"
    assert second.policy == stricter and second.eligible is False
    case.refresh_from_db()
    assert case.status == CaseStatus.INELIGIBLE


def test_referral_uses_the_policy_version_that_decided_eligibility(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = accepted_case(officer)
    factories.PolicyFactory(
        force=policy.force, version=policy.version + 1, first_appointment_working_days=3
    )

    referral = referral_create(case=case, programme=programme, by=officer)

    assert referral.policy == policy
    assert referral.first_appointment_due == end_of_day(add_working_days(today(), 10))


def test_referral_deadlines_counted_from_the_referral_in_london_working_days(
    officer: User, policy: SchemePolicy, programme: Programme
) -> None:
    case = accepted_case(officer)

    referral = referral_create(case=case, programme=programme, by=officer)

    referral.refresh_from_db()
    first_due = end_of_day(add_working_days(today(), policy.first_appointment_working_days))
    assert referral.first_appointment_due == first_due
    assert referral.completion_due == end_of_day(today() + timedelta(days=84))
    assert referral.first_appointment_due.tzinfo is not None


def test_referral_deadlines_counted_from_the_offence_when_the_policy_says_so(
    officer: User, programme: Programme
) -> None:
    policy = factories.PolicyFactory(
        force=factories.force("TVP"),
        deadlines_from="offence",
        first_appointment_working_days=10,
        completion_days=84,
    )
    case = accepted_case(officer)

    referral = referral_create(case=case, programme=programme, by=officer)

    assert referral.policy == policy
    assert referral.first_appointment_due == end_of_day(add_working_days(case.offence_date, 10))
    assert referral.completion_due == end_of_day(case.offence_date + timedelta(days=84))
