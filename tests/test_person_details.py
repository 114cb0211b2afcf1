"""Phone numbers, postcodes, email addresses and PNC IDs: accepted as officers type them,
stored in one form, shown as people write them; malformed ones refused on the field."""

from __future__ import annotations

from datetime import date
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from accounts.models import User
from cases.models import Person
from cases.person_details import (
    normalise_email,
    normalise_phone,
    normalise_pnc_id,
    normalise_postcode,
)
from tests import factories

PEOPLE = "/api/v1/people/"


@pytest.mark.parametrize(
    "typed",
    ["07700 900123", "07700900123", "+44 7700 900123", "+44 (0)7700 900-123", "0044 7700 900123"],
)
def test_a_uk_mobile_typed_any_usual_way_is_stored_in_one_form(typed: str) -> None:
    assert normalise_phone(typed) == "+447700900123"


@pytest.mark.parametrize("typed", ["020 7946 0958", "07700 90012", "+33 6 12 34 56 78", "phone"])
def test_a_landline_foreign_or_short_number_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError, match="UK mobile number"):
        normalise_phone(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("sw1a1aa", "SW1A 1AA"),
        (" SW1A  1AA ", "SW1A 1AA"),
        ("m1 1ae", "M1 1AE"),
        ("cr26xh", "CR2 6XH"),
    ],
)
def test_a_postcode_typed_in_any_case_and_spacing_is_stored_as_written(typed, stored) -> None:
    assert normalise_postcode(typed) == stored


@pytest.mark.parametrize("typed", ["SW1A", "12345", "SW1A 1AAA", "Q1 1AA"])
def test_a_string_that_is_no_postcode_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError, match="postcode"):
        normalise_postcode(typed)


def test_an_email_keeps_its_local_part_and_lowers_its_domain() -> None:
    assert normalise_email(" Sian.Jones@Example.ORG ") == "Sian.Jones@example.org"
    with pytest.raises(ValidationError):
        normalise_email("sian.jones@")


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2019/0123456A", "2019/0123456A"),
        ("2019/123456a", "2019/0123456A"),
        ("19/123456A", "2019/0123456A"),
        (" 98/45Z ", "1998/0000045Z"),
    ],
)
def test_a_pnc_id_typed_short_or_in_lower_case_is_stored_in_full(typed, stored) -> None:
    assert normalise_pnc_id(typed, today=date(2026, 12, 1)) == stored


@pytest.mark.parametrize("typed", ["2019-0123456A", "2019/01234567A", "2019/0123456", "ABC"])
def test_a_malformed_pnc_id_is_refused(typed: str) -> None:
    with pytest.raises(ValidationError, match="police national identifier"):
        normalise_pnc_id(typed)


@pytest.mark.django_db
def test_the_api_stores_details_as_typed_normalised_and_finds_the_person_by_a_short_pnc_id(
    officer: User,
) -> None:
    api = APIClient()
    api.force_authenticate(officer)
    body = {
        "given_name": "Siân",
        "family_name": "Jones",
        "date_of_birth": "1990-04-02",
        "pnc_id": "19/123456a",
        "phone": "+44 7700 900123",
        "postcode": "rg11aa",
        "email": "Sian@Example.ORG",
    }

    response = api.post(PEOPLE, body, format="json")

    assert response.status_code == 201, response.json()
    stored = {key: response.json()[key] for key in ("pnc_id", "phone", "postcode", "email")}
    assert stored == {
        "pnc_id": "2019/0123456A",
        "phone": "+447700900123",
        "postcode": "RG1 1AA",
        "email": "Sian@example.org",
    }
    found = api.get(PEOPLE, {"pnc_id": "2019/123456A"}).json()
    assert found["exact"]["id"] == response.json()["id"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "value"),
    [("phone", "020 7946 0958"), ("postcode", "NOT A CODE"), ("pnc_id", "2019-0123456A")],
)
def test_the_api_refuses_a_malformed_detail_on_its_field_and_saves_nobody(
    officer: User, field: str, value: str
) -> None:
    api = APIClient()
    api.force_authenticate(officer)
    body = {"given_name": "Sam", "family_name": "Jones", "date_of_birth": "1990-04-02"}

    response = api.post(PEOPLE, {**body, field: value}, format="json")

    assert response.status_code == 400
    assert response.json()["field"] == field and response.json()[field]
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_the_page_refuses_a_malformed_postcode_in_the_error_summary(client, officer) -> None:
    client.force_login(officer)
    search = {
        "given_name": "Sam",
        "family_name": "Jones",
        "date_of_birth_day": "2",
        "date_of_birth_month": "4",
        "date_of_birth_year": "1990",
    }
    client.post("/cases/new/", search)

    response = client.post(
        "/cases/new/person/",
        {
            **search,
            "postcode": "NOT A CODE",
            "contact_preference": "sms",
            "preferred_language": "en",
            "ethnicity": "not_stated",
            "sex": "not_stated",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "govuk-error-summary" in page and "Enter a real UK postcode" in page
    assert 'value="NOT A CODE"' in page  # kept as typed, to correct
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_the_case_page_shows_a_stored_mobile_as_people_write_it(client, officer) -> None:
    case = factories.CaseFactory(created_by=officer, person__phone="+447700900123")
    client.force_login(officer)

    page = client.get(f"/cases/{case.reference}/").content.decode()

    assert "07700 900123" in page and "+447700900123" not in page


@pytest.mark.django_db
def test_the_migration_normalises_what_it_safely_can_and_keeps_every_value() -> None:
    well_formed = factories.PersonFactory(
        phone="07700 900123", postcode="rg1 1aa", email="A@Example.org", pnc_id="19/123456a"
    )
    malformed = factories.PersonFactory(phone="0118 496 0000", postcode="somewhere", pnc_id="X1")
    # A short PNC ID whose full form another person already holds stays as it was.
    factories.PersonFactory(pnc_id="2020/0000001Z")
    clash = factories.PersonFactory(pnc_id="20/1Z")

    import_module("cases.migrations.0010_person_details_normalised").normalise(apps, None)

    well_formed.refresh_from_db()
    assert (well_formed.phone, well_formed.postcode, well_formed.email, well_formed.pnc_id) == (
        "+447700900123",
        "RG1 1AA",
        "A@example.org",
        "2019/0123456A",
    )
    malformed.refresh_from_db()
    assert (malformed.phone, malformed.postcode, malformed.pnc_id) == (
        "0118 496 0000",
        "somewhere",
        "X1",
    )
    clash.refresh_from_db()
    assert clash.pnc_id == "20/1Z"
    assert Person.objects.count() == 4
