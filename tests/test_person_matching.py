"""Finding the same person again: folded names, date of birth, PNC ID, and scoped history."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from accounts.models import Role, User
from cases.models import Case, Person, SchemePolicy
from cases.selectors import earlier_cases_for, people_matching
from cases.services import person_create
from programmes.models import Referral
from tests import factories

BORN = date(1994, 3, 12)


def person(given_name: str, family_name: str, **fields: object) -> Person:
    """A stored person born on BORN unless told otherwise."""
    fields.setdefault("date_of_birth", BORN)
    return factories.PersonFactory(given_name=given_name, family_name=family_name, **fields)


def possible_names(user: User, given_name: str, family_name: str, **kwargs: object) -> list[str]:
    """Full names of the possible matches, best first."""
    kwargs.setdefault("date_of_birth", BORN)
    matches = people_matching(user=user, given_name=given_name, family_name=family_name, **kwargs)
    return [match.full_name for match in matches.possible]


@pytest.mark.parametrize(
    ("stored", "typed"),
    [
        (("Siân", "Llŷr"), ("SIAN", "llyr")),
        (("Seán", "MacDonald"), ("Sean", "Mac Donald")),
        (("Seán", "MacDonald"), ("Sean", "Mac-Donald")),
        (("Aoife", "O'Brien"), ("Aoife", "OBrien")),
        (("Ciarán", "Ó Briain"), ("Ciaran", "O Briain")),
        (("Zoë", "Smith-Jones"), ("zoe", "smith jones")),
        (("Jonathon", "Hughes"), ("Jonathan", "Hughes")),
    ],
    ids=["case-and-accents", "spacing", "hyphen", "apostrophe", "irish-fada", "mixed", "typo"],
)
def test_finds_the_same_person_typed_differently(
    officer: User, stored: tuple[str, str], typed: tuple[str, str]
) -> None:
    person(*stored)

    assert possible_names(officer, *typed) == [" ".join(stored)]


def test_closer_name_is_ranked_first(officer: User) -> None:
    person("Jonathon", "Smith")
    person("Jonathan", "Smith")

    assert possible_names(officer, "Jonathan", "Smith") == ["Jonathan Smith", "Jonathon Smith"]


def test_a_different_name_is_not_offered(officer: User) -> None:
    person("Mary", "Jones")

    assert possible_names(officer, "Jonathan", "Smith") == []


def test_same_name_with_another_date_of_birth_is_not_offered(officer: User) -> None:
    person("Siân", "Llŷr", date_of_birth=date(1994, 3, 13))

    assert possible_names(officer, "Sian", "Llyr") == []


def test_no_date_of_birth_and_no_pnc_id_finds_nobody(officer: User) -> None:
    person("Siân", "Llŷr")

    assert possible_names(officer, "Siân", "Llŷr", date_of_birth=None) == []


def test_exact_pnc_match_wins_over_name_matches(officer: User) -> None:
    known = person("Rhys", "Evans", pnc_id="2019/0123456A", date_of_birth=date(1980, 1, 1))
    person("Siân", "Llŷr")

    matches = people_matching(
        user=officer,
        given_name="Siân",
        family_name="Llŷr",
        date_of_birth=BORN,
        pnc_id=" 2019/0123456a ",
    )

    assert matches.exact == known
    assert matches.possible == []


def test_unknown_pnc_id_falls_back_to_name_and_date_of_birth(officer: User) -> None:
    person("Siân", "Llŷr")

    matches = people_matching(
        user=officer,
        given_name="Sian",
        family_name="Llyr",
        date_of_birth=BORN,
        pnc_id="2020/0000001Z",
    )

    assert matches.exact is None
    assert [match.full_name for match in matches.possible] == ["Siân Llŷr"]


def test_anonymised_people_are_not_offered(officer: User) -> None:
    person("Siân", "Llŷr", anonymised_at=timezone.now())

    assert possible_names(officer, "Siân", "Llŷr") == []


def test_match_carries_own_force_cases_only(officer: User, other_force_officer: User) -> None:
    found = person("Ciarán", "Ó Briain")
    own = factories.CaseFactory(person=found, created_by=officer, offence_date=date(2025, 5, 1))
    factories.CaseFactory(
        person=found,
        force=factories.force("DUR"),
        created_by=other_force_officer,
        offence_date=date(2025, 8, 1),
    )

    (match,) = people_matching(
        user=officer, given_name="Ciaran", family_name="O Briain", date_of_birth=BORN
    ).possible

    assert match.own_cases == [own]
    assert match.has_other_force_cases is True


def test_match_without_other_force_cases_says_so(officer: User) -> None:
    found = person("Ciarán", "Ó Briain")
    factories.CaseFactory(person=found, created_by=officer)

    (match,) = people_matching(
        user=officer, given_name="Ciarán", family_name="Ó Briain", date_of_birth=BORN
    ).possible

    assert len(match.own_cases) == 1
    assert match.has_other_force_cases is False


def test_other_force_officer_sees_only_their_own_cases(
    officer: User, other_force_officer: User
) -> None:
    found = person("Ciarán", "Ó Briain")
    factories.CaseFactory(person=found, created_by=officer)

    (match,) = people_matching(
        user=other_force_officer,
        given_name="Ciarán",
        family_name="Ó Briain",
        date_of_birth=BORN,
    ).possible

    assert match.own_cases == []
    assert match.has_other_force_cases is True


@pytest.mark.django_db
def test_provider_staff_cannot_search_for_people() -> None:
    provider = factories.ProviderFactory()
    staff = factories.UserFactory(role=Role.PROVIDER_STAFF, force=None, provider=provider)
    person("Siân", "Llŷr")

    matches = people_matching(user=staff, given_name="Siân", family_name="Llŷr", date_of_birth=BORN)

    assert matches.exact is None
    assert matches.possible == []


@pytest.mark.parametrize(
    ("given_name", "family_name"),
    [("Siân", "Llŷr"), ("Seán", "O'Connor"), ("Zoë", "Smith-Jones"), ("Ciarán", "Ó Briain")],
)
def test_person_create_keeps_names_exactly_as_typed(
    officer: User, given_name: str, family_name: str
) -> None:
    created = person_create(
        by=officer, given_name=given_name, family_name=family_name, date_of_birth=BORN
    )

    stored = Person.objects.get(pk=created.pk)
    assert (stored.given_name, stored.family_name) == (given_name, family_name)
    assert stored.full_name == f"{given_name} {family_name}"


# --- Earlier cases ----------------------------------------------------------------------------


def latest_case(found: Person, officer: User) -> Case:
    """A Thames Valley case for `found`, later than any history built in these tests."""
    return factories.CaseFactory(person=found, created_by=officer, offence_date=date(2026, 11, 1))


def test_earlier_cases_found_by_pnc_id_across_forces_without_their_reference(
    officer: User, other_force_officer: User
) -> None:
    found = person("Rhys", "Evans", pnc_id="2019/0123456A")
    factories.CaseFactory(
        person=found,
        force=factories.force("DUR"),
        created_by=other_force_officer,
        offence_date=date(2025, 2, 1),
    )

    (earlier,) = earlier_cases_for(case=latest_case(found, officer))

    assert earlier.force_name == "Durham Constabulary"
    assert earlier.offence_date == date(2025, 2, 1)
    assert earlier.reference == ""
    assert earlier.outcome == ""
    assert earlier.diverted is False


def test_earlier_cases_found_by_name_and_date_of_birth_on_another_record(
    officer: User, other_force_officer: User
) -> None:
    elsewhere = person("Sian", "Llyr")
    factories.CaseFactory(
        person=elsewhere,
        force=factories.force("DUR"),
        created_by=other_force_officer,
        offence_date=date(2025, 2, 1),
    )
    here = person("Siân", "Llŷr")

    (earlier,) = earlier_cases_for(case=latest_case(here, officer))

    assert earlier.matched_by == "name and date of birth"
    assert earlier.force_name == "Durham Constabulary"
    assert earlier.reference == ""


def test_own_force_earlier_cases_keep_their_reference(officer: User) -> None:
    found = person("Aoife", "O'Brien")
    own = factories.CaseFactory(person=found, created_by=officer, offence_date=date(2025, 2, 1))

    (earlier,) = earlier_cases_for(case=latest_case(found, officer))

    assert earlier.reference == own.reference
    assert earlier.matched_by == "the same person record"


def test_earlier_cases_ignore_same_name_with_another_date_of_birth(officer: User) -> None:
    other = person("Siân", "Llŷr", date_of_birth=date(1990, 1, 1))
    factories.CaseFactory(person=other, created_by=officer, offence_date=date(2025, 2, 1))

    assert earlier_cases_for(case=latest_case(person("Siân", "Llŷr"), officer)) == []


def test_earlier_cases_ignore_later_offences(officer: User) -> None:
    found = person("Aoife", "O'Brien")
    current = factories.CaseFactory(person=found, created_by=officer, offence_date=date(2025, 2, 1))
    factories.CaseFactory(person=found, created_by=officer, offence_date=date(2025, 9, 1))

    assert earlier_cases_for(case=current) == []


def test_earlier_case_in_a_programme_counts_as_diverted(
    officer: User, policy: SchemePolicy
) -> None:
    found = person("Aoife", "O'Brien")
    earlier_case = factories.CaseFactory(
        person=found, created_by=officer, offence_date=date(2025, 2, 1)
    )
    programme = factories.ProgrammeFactory()
    Referral.objects.create(
        reference="R-TEST-1",
        case=earlier_case,
        programme=programme,
        policy=policy,
        first_appointment_due="2025-02-14T23:59:59Z",
        completion_due="2025-04-30T23:59:59Z",
        referred_by=officer,
    )
    earlier_case.status = "in_programme"
    earlier_case.save()

    (earlier,) = earlier_cases_for(case=latest_case(found, officer))

    assert earlier.diverted is True


def test_earlier_referral_that_ended_in_prosecution_is_not_a_diversion(
    officer: User, policy: SchemePolicy
) -> None:
    found = person("Aoife", "O'Brien")
    factories.CaseFactory(
        person=found,
        created_by=officer,
        offence_date=date(2025, 2, 1),
        status="closed",
        outcome="prosecution",
        closed_at="2025-06-01T12:00:00Z",
    )

    (earlier,) = earlier_cases_for(case=latest_case(found, officer))

    assert earlier.diverted is False


def test_names_in_other_alphabets_match_only_themselves(officer: User) -> None:
    anna = factories.PersonFactory(
        given_name="Анна", family_name="Иванова", date_of_birth=date(1990, 5, 5)
    )
    factories.PersonFactory(given_name="Олег", family_name="Петров", date_of_birth=date(1990, 5, 5))
    earlier = factories.CaseFactory(person=anna, created_by=officer, offence_date=date(2025, 1, 1))
    later = factories.CaseFactory(
        person=factories.PersonFactory(
            given_name="Олег", family_name="Петров", date_of_birth=date(1990, 5, 5)
        ),
        created_by=officer,
    )

    assert earlier_cases_for(case=later) == []
    matches = people_matching(
        user=officer, given_name="анна", family_name="иванова", date_of_birth=date(1990, 5, 5)
    )
    assert [p.pk for p in matches.possible] == [anna.pk]
    assert earlier.person_id == anna.pk
